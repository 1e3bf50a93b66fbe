import { ClientError } from '../domain/client-error.js';

/** A scheduler request or configuration that cannot be honoured (unknown name, unsupported option, ...). */
export class SchedulerError extends ClientError {
  constructor(message: string) {
    super(400, message);
    this.name = 'SchedulerError';
  }
}
