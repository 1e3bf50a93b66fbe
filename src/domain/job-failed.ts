/** A job failure, with whether the client caused it (4xx) or the server did (5xx). */
export class JobFailedError extends Error {
  constructor(
    message: string,
    readonly clientError: boolean,
  ) {
    super(message);
  }
}
