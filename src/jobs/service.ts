import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GenerationResult, GenerationSpec, ProgressEvent } from '../pipeline/spec.js';
import { JobFailedError } from '../worker/worker-client.js';
import { EtaEstimator, type WorkSize } from './eta.js';
import { JobEvents, type JobEvent } from './events.js';
import { LocalQueue, QueueFullError } from './queue.js';
import { FINISHED, type JobRecord } from './record.js';
import { failedBody, successBody, type QueueStatus } from './responses.js';
import { resultMeta } from './result-meta.js';
import { decodeRaw, encodeRaw, joinSpec, splitSpec } from './spec-codec.js';
import type { BlobStore, JobStore } from './store.js';
import { deliverWebhook, type WebhookOptions } from './webhooks.js';
import { writeOutputs } from './outputs.js';
import { sweepExpired } from './sweeper.js';
import type { Logger } from 'pino';

/** Runs one generation: an inference worker thread (or, in tests, anything with the same shape). */
export interface JobRunner {
  run(spec: GenerationSpec, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult>;
}

export interface JobServiceOptions {
  store: JobStore;
  /** Input images of queued jobs. */
  blobs: BlobStore;
  outputDir: string;
  runners: readonly JobRunner[];
  maxQueue: number;
  /** Attempts before a job interrupted by crashes/restarts is failed. */
  maxAttempts: number;
  tempTtlMs: number;
  webhook: WebhookOptions;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called after each job with its outcome (metrics). */
  onFinished?: (record: JobRecord, result: GenerationResult | null) => void;
}

/** What the HTTP routes need from the job system, whichever backend runs it. */
export interface Jobs {
  readonly accepting: boolean;
  submit(spec: GenerationSpec, response: JobRecord['response']): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  /** The record once finished, or null if it is still unfinished after `timeoutMs`. */
  waitFinished(id: string, timeoutMs: number): Promise<JobRecord | null>;
  status(record: JobRecord): Promise<QueueStatus>;
  subscribe(id: string, listener: (e: JobEvent) => void): () => void;
  /** Fails every waiting job; returns how many. */
  clearQueue(): Promise<number>;
  queueInfo(): Promise<{ waiting: number; running: number; etaSeconds: number }>;
  readOutput(name: string): Promise<Buffer | null>;
  /** Base64 of a finished job's PNGs, for `base64: "yes"` responses. */
  base64Outputs(record: JobRecord): Promise<string[]>;
}

const inputKey = (id: string, slot: string) => `inputs/${id}/${slot}`;
const sizeOf = (spec: Record<string, unknown>): WorkSize => ({
  steps: Number(spec.steps),
  width: Number(spec.width),
  height: Number(spec.height),
  samples: Number(spec.samples),
  controlnets: (spec.controlnets as unknown[]).length,
});

/**
 * The job system on one box: records in SQLite, inputs on disk, a bounded in-memory queue feeding one
 * inference worker per device, outputs as files, webhooks, progress events, restart recovery.
 */
export class LocalJobService implements Jobs {
  readonly events = new JobEvents();
  private readonly queue: LocalQueue;
  private readonly eta = new EtaEstimator();
  private readonly webhooksInFlight = new Set<Promise<unknown>>();
  /** Pending waitFinished() calls; shutdown answers them (the client then fetches from the next run). */
  private readonly waiters = new Set<(r: JobRecord | null) => void>();
  private closing = false;

  constructor(private readonly o: JobServiceOptions) {
    this.queue = new LocalQueue(o.maxQueue, o.runners.length, (id, slot) => this.execute(id, o.runners[slot]));
  }

  get accepting(): boolean {
    return !this.closing;
  }

  /**
   * Re-queues what a previous process accepted but did not finish (also after kill -9): queued jobs
   * keep their place, running ones start again; a job interrupted `maxAttempts` times is failed.
   */
  async recover(): Promise<{ requeued: number; failed: number }> {
    let requeued = 0;
    let failed = 0;
    for (const record of await this.o.store.byState(['queued', 'running'])) {
      if (record.attempts >= this.o.maxAttempts) {
        await this.finishFailed(record.id, `interrupted ${record.attempts} times (server restarts or crashes); not retried`, false);
        failed++;
        continue;
      }
      await this.o.store.update(record.id, { state: 'queued', progress: null });
      this.queue.enqueue(record.id, true);
      requeued++;
    }
    return { requeued, failed };
  }

  async submit(spec: GenerationSpec, response: JobRecord['response']): Promise<JobRecord> {
    if (!this.queue.hasRoom()) throw new QueueFullError(this.o.maxQueue);
    const { json, images } = splitSpec(spec);
    const inputs: Record<string, string> = {};
    await Promise.all(
      Object.entries(images).map(async ([slot, image]) => {
        inputs[slot] = inputKey(spec.id, slot);
        await this.o.blobs.put(inputs[slot], encodeRaw(image));
      }),
    );
    const record: JobRecord = {
      id: spec.id,
      state: 'queued',
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      attempts: 0,
      spec: json,
      inputs,
      response,
      progress: null,
      result: null,
      error: null,
      expiresAt: null,
      webhookDeliveries: [],
    };
    await this.o.store.insert(record);
    this.queue.enqueue(record.id, true);
    return record;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.o.store.get(id);
  }

  async waitFinished(id: string, timeoutMs: number): Promise<JobRecord | null> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: JobRecord | null) => {
        if (settled) return;
        settled = true;
        this.waiters.delete(done);
        unsubscribe();
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.add(done);
      const unsubscribe = this.events.subscribe(id, (e) => {
        if (e.type === 'state' && FINISHED.includes(e.record.state)) done(e.record);
      });
      const timer = setTimeout(() => done(null), timeoutMs);
      // It may have finished before we subscribed.
      void this.o.store.get(id).then((r) => r && FINISHED.includes(r.state) && done(r));
    });
  }

  async status(record: JobRecord): Promise<QueueStatus> {
    const { running, waiting } = this.queue.snapshot();
    const position = this.queue.position(record.id);
    const ahead = position === null || position < 0 ? [] : [...running, ...waiting.slice(0, position)];
    let seconds = 0;
    for (const id of ahead) {
      const r = await this.o.store.get(id);
      if (r) seconds += this.eta.seconds(sizeOf(r.spec), fractionDone(r));
    }
    seconds += this.eta.seconds(sizeOf(record.spec), fractionDone(record));
    return { position, etaSeconds: seconds };
  }

  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    return this.events.subscribe(id, listener);
  }

  async clearQueue(): Promise<number> {
    const ids = this.queue.clear();
    for (const id of ids) await this.finishFailed(id, 'removed from the queue by clear_queue', false);
    return ids.length;
  }

  async queueInfo() {
    const { running, waiting } = this.queue.snapshot();
    let etaSeconds = 0;
    for (const id of [...running, ...waiting]) {
      const r = await this.o.store.get(id);
      if (r) etaSeconds += this.eta.seconds(sizeOf(r.spec), fractionDone(r));
    }
    return { waiting: waiting.length, running: running.length, etaSeconds };
  }

  readOutput(name: string): Promise<Buffer | null> {
    return readFile(path.join(this.o.outputDir, name)).catch(() => null);
  }

  /** Base64 of a finished job's PNGs, for `base64: "yes"` responses. */
  async base64Outputs(record: JobRecord): Promise<string[]> {
    const files = await Promise.all((record.result?.outputs ?? []).map((n) => this.readOutput(n)));
    return files.map((f) => (f ? f.toString('base64') : ''));
  }

  /**
   * Stops accepting, lets running jobs finish (up to `timeoutMs`; one still running then is re-queued
   * at the next start), answers waiting requests with "processing", waits for webhooks. Queued jobs
   * stay queued in the store for the next start. Call close() afterwards.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    const drained = this.queue.pause();
    const timedOut = await Promise.race([drained.then(() => false), delay(timeoutMs).then(() => true)]);
    if (timedOut) this.o.log.warn({}, 'shutdown: a job was still running; it will be re-queued at the next start');
    for (const answer of [...this.waiters]) answer(null);
    await Promise.race([Promise.allSettled([...this.webhooksInFlight]), delay(Math.min(timeoutMs, 5000))]);
  }

  /** Stops accepting new jobs (readiness turns 503) without touching running ones. */
  stopAccepting(): void {
    this.closing = true;
  }

  async close(): Promise<void> {
    await this.o.store.close();
  }

  /** Deletes expired temp outputs (the sweeper timer calls this). */
  sweepExpired(now = Date.now()): Promise<number> {
    return sweepExpired(this.o.store, this.o.outputDir, now);
  }

  /** Pauses the queue (running jobs finish), runs `fn`, resumes: restart_server. */
  async whilePaused<T>(fn: () => Promise<T>): Promise<T> {
    await this.queue.pause();
    try {
      return await fn();
    } finally {
      this.queue.resume();
    }
  }

  private async execute(id: string, runner: JobRunner): Promise<void> {
    const queued = await this.o.store.get(id);
    if (!queued || queued.state !== 'queued') return;
    const record = (await this.o.store.update(id, { state: 'running', startedAt: Date.now(), progress: null, attempts: queued.attempts + 1 }))!;
    this.events.emit({ type: 'state', id, record });
    let spec: GenerationSpec;
    try {
      spec = await this.loadSpec(record);
    } catch (err) {
      await this.finishFailed(id, `the job's stored inputs could not be read: ${(err as Error).message}`, false);
      return;
    }
    let lastSaved = 0;
    const started = performance.now();
    try {
      const result = await runner.run(spec, (p) => {
        this.events.emit({ type: 'progress', id, step: p.step, total: p.total });
        // Progress goes to the store at most twice a second (fetch reads it), always at the end.
        const now = Date.now();
        if (now - lastSaved > 500 || p.step === p.total) {
          lastSaved = now;
          void this.o.store.update(id, { progress: p });
        }
      });
      this.eta.record(sizeOf(record.spec), (performance.now() - started) / 1000);
      const outputs = await writeOutputs(this.o.outputDir, id, result.images);
      const finishedAt = Date.now();
      const done = await this.o.store.update(id, {
        state: 'succeeded',
        finishedAt,
        progress: { step: result.stepsRun, total: result.stepsRun },
        result: {
          outputs,
          meta: { ...record.response.meta, ...resultMeta(spec, result) },
          warnings: result.warnings,
          generationTime: Number((result.timings.totalMs / 1000).toFixed(3)),
        },
        expiresAt: record.response.temp ? finishedAt + this.o.tempTtlMs : null,
      });
      await this.o.blobs.delete(Object.values(record.inputs));
      this.announce(done!, result);
    } catch (err) {
      const clientError = err instanceof JobFailedError && err.clientError;
      if (!clientError) this.o.log.error({ err, job: id }, 'job failed');
      await this.finishFailed(id, (err as Error).message, clientError);
    }
  }

  private async loadSpec(record: JobRecord): Promise<GenerationSpec> {
    const images: Record<string, ReturnType<typeof decodeRaw>> = {};
    for (const [slot, key] of Object.entries(record.inputs)) {
      const bytes = await this.o.blobs.get(key);
      if (!bytes) throw new Error(`missing ${slot} image`);
      images[slot] = decodeRaw(bytes);
    }
    return joinSpec(record.spec, images);
  }

  private async finishFailed(id: string, message: string, clientError: boolean): Promise<void> {
    const record = await this.o.store.update(id, { state: 'failed', finishedAt: Date.now(), error: { message, clientError } });
    if (!record) return;
    await this.o.blobs.delete(Object.values(record.inputs));
    this.announce(record, null);
  }

  /** Tells waiters and SSE streams, updates metrics, and starts the webhook (which never holds up the queue). */
  private announce(record: JobRecord, result: GenerationResult | null) {
    this.events.emit({ type: 'state', id: record.id, record });
    this.o.onFinished?.(record, result);
    const url = record.response.webhook;
    if (!url) return;
    const delivery = (async () => {
      const body = record.state === 'succeeded' ? successBody(record, record.response.base64 ? await this.base64Outputs(record) : undefined) : failedBody(record);
      const deliveries = [...record.webhookDeliveries];
      const ok = await deliverWebhook(url, { ...body, track_id: record.response.trackId }, this.o.webhook, async (d) => {
        deliveries.push(d);
        await this.o.store.update(record.id, { webhookDeliveries: [...deliveries] });
      });
      if (!ok) this.o.log.warn({ job: record.id, webhook: url }, 'webhook delivery failed after all attempts');
    })().catch((err) => this.o.log.error({ err, job: record.id }, 'webhook delivery crashed'));
    this.webhooksInFlight.add(delivery);
    void delivery.finally(() => this.webhooksInFlight.delete(delivery));
  }
}

function fractionDone(r: JobRecord): number {
  return r.state === 'running' && r.progress ? r.progress.step / Math.max(1, r.progress.total) : 0;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
