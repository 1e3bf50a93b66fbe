import type { GenerationResult, GenerationSpec, ProgressEvent } from '../pipeline/spec.js';

/** What runs a job: an inference worker thread (or a test double). */
export interface JobRunner {
  run(spec: GenerationSpec, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult>;
}

export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the generation queue is full (${limit} jobs waiting); retry later`);
  }
}

interface Waiting {
  spec: GenerationSpec;
  onProgress?: (e: ProgressEvent) => void;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
}

/**
 * A bounded FIFO feeding one job at a time to each runner (one runner per device). When the queue is
 * full, `submit` refuses at once instead of letting work pile up.
 */
export class JobQueue {
  private readonly waiting: Waiting[] = [];
  private readonly idle: JobRunner[];
  private active = 0;

  constructor(
    runners: readonly JobRunner[],
    private readonly maxWaiting: number,
  ) {
    this.idle = [...runners];
  }

  get depth(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  submit(spec: GenerationSpec, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult> {
    if (this.idle.length === 0 && this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(this.maxWaiting));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ spec, onProgress, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const runner = this.idle.shift()!;
      const job = this.waiting.shift()!;
      this.active++;
      runner
        .run(job.spec, job.onProgress)
        .then(job.resolve, job.reject)
        .finally(() => {
          this.active--;
          this.idle.push(runner);
          this.pump();
        });
    }
  }
}
