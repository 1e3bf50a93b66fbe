/**
 * The one client-error type: a failure caused by the request or by the files the client named (a bad field, a
 * model that does not fit, a missing annotator), with the HTTP status to answer it with and a message that is safe
 * to show. Any layer may throw it; only the HTTP layer turns it into `{"status":"error","message":…}`, and the
 * inference worker reports it as a client error (4xx) instead of a server fault. Anything else that escapes is a
 * 500 with a generic message (and a log line). `logDetail` goes to the server log only.
 */
export class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly logDetail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export const badRequest = (message: string) => new ClientError(400, message);
