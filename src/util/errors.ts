/**
 * An error whose message is safe to show the client, with the HTTP status to answer it with.
 * Anything else that escapes a handler is a 500 with a generic message (and a log line).
 * `logDetail` is what the server log gets besides (never sent to the client).
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly logDetail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
