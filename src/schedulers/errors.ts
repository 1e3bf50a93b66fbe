/** A scheduler request or configuration that cannot be honoured (unknown name, unsupported option, ...). */
export class SchedulerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerError';
  }
}
