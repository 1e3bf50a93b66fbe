import client from 'prom-client';
import type { JobRecord } from '../jobs/record.js';
import type { GenerationResult } from '../domain/index.js';

/**
 * Prometheus metrics of this process: queue depth, job latency, per-stage model time, failures.
 * Each server (or test) gets its own registry, so several can live in one process.
 */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly jobs;
  private readonly rejected;
  private readonly jobSeconds;
  private readonly stageSeconds;

  constructor(queue: () => Promise<{ waiting: number; running: number }>) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'cn_' });
    new client.Gauge({
      name: 'cn_queue_waiting',
      help: 'Jobs waiting in the queue',
      registers,
      async collect() {
        this.set((await queue()).waiting);
      },
    });
    new client.Gauge({
      name: 'cn_queue_running',
      help: 'Jobs running now',
      registers,
      async collect() {
        this.set((await queue()).running);
      },
    });
    this.jobs = new client.Counter({ name: 'cn_jobs_total', help: 'Finished jobs by outcome', labelNames: ['state', 'cause'], registers });
    this.rejected = new client.Counter({ name: 'cn_jobs_rejected_total', help: 'Requests refused before queueing', labelNames: ['reason'], registers });
    this.jobSeconds = new client.Histogram({
      name: 'cn_job_seconds',
      help: 'Job latency from acceptance to result',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    });
    this.stageSeconds = new client.Histogram({
      name: 'cn_stage_seconds',
      help: 'Time per job inside each model run() and the hint preprocessors',
      labelNames: ['stage'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }

  jobFinished(record: JobRecord, result: GenerationResult | null): void {
    const cause = record.state === 'failed' ? (record.error?.clientError ? 'client' : 'server') : 'none';
    this.jobs.inc({ state: record.state, cause });
    if (record.finishedAt) this.jobSeconds.observe((record.finishedAt - record.createdAt) / 1000);
    if (result) {
      for (const [stage, ms] of Object.entries(result.timings.runMs)) this.stageSeconds.observe({ stage }, ms / 1000);
      this.stageSeconds.observe({ stage: 'hint' }, result.timings.hintMs / 1000);
    }
  }

  rejectedRequest(reason: string): void {
    this.rejected.inc({ reason });
  }
}
