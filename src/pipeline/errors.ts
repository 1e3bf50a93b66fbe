import { ClientError } from '../domain/client-error.js';

/** A job-level failure whose message is meant for the client (bad combination of inputs, model mismatch): a 400. */
export class GenerationError extends ClientError {
  constructor(message: string) {
    super(400, message);
    this.name = 'GenerationError';
  }
}
