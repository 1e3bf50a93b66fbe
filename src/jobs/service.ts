import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GenerationResult, GenerationSpec } from '../domain/index.js';
import { EtaEstimator, fractionDone, workSizeOf } from './eta.js';
import { JobEvents, type JobEvent } from './events.js';
import { executeJob, failurePatch, type ExecuteContext, type JobRunner } from './execute.js';
import { WebhookSender } from './job-webhook.js';
import { newFileToken, randomJobId, writeOutputs } from './outputs.js';
import { LocalQueue } from './queue.js';
import type { JobRecord } from './record.js';
import type { QueueStatus } from './responses.js';
import { encodeRaw, splitSpec } from './spec-codec.js';
import type { S3BlobStore } from './s3-blob-store.js';
import { deleteOutputObjects, jobOutputUrls, readJobOutputs, saveOutputObjects } from './s3-outputs.js';
import type { BlobStore, JobStore } from './store.js';
import { sweepExpired } from './sweeper.js';
import { FinishWaiters } from './waiters.js';
import type { WebhookOptions } from './webhooks.js';

export type { JobRunner } from './execute.js';

export interface JobServiceOptions {
  store: JobStore;
  /** Input images of queued jobs. */
  blobs: BlobStore;
  outputDir: string;
  /** The S3-compatible store: outputs go there while it is configured (OUTPUT_STORE=s3 or update_s3), else to outputDir. */
  objects?: S3BlobStore;
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
  /** A new job id: numeric, random, unique across every node sharing the queue. */
  newId(): Promise<string>;
  /** Accepts a job for `owner` (the caller's key fingerprint), or throws QueueFullError: the bound holds under concurrency. */
  submit(spec: GenerationSpec, response: JobRecord['response'], owner: string): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  /** The record once finished, or null if it is still unfinished after `timeoutMs`. */
  waitFinished(id: string, timeoutMs: number): Promise<JobRecord | null>;
  status(record: JobRecord): Promise<QueueStatus>;
  subscribe(id: string, listener: (e: JobEvent) => void): () => void;
  /** Fails every waiting job; returns how many. */
  clearQueue(): Promise<number>;
  /** Fails one waiting job (clear_queue with request_id); false when it is not waiting. */
  cancel(id: string): Promise<boolean>;
  queueInfo(): Promise<{ waiting: number; running: number; etaSeconds: number }>;
  /** An output stored by this node (file or Redis); outputs in S3 are reached through outputUrls. */
  readOutput(name: string): Promise<Buffer | null>;
  /** The URLs of a finished job's outputs: this server's /generations/ URLs, or S3 public or presigned URLs. */
  outputUrls(record: JobRecord): Promise<string[]>;
  /** Base64 of a finished job's PNGs, for `base64: "yes"` responses. */
  base64Outputs(record: JobRecord): Promise<string[]>;
}

/** What assembly and shutdown need besides the routes' view, whichever backend runs the jobs. */
export interface JobBackend extends Jobs {
  /** Deletes expired temp outputs (the sweeper timer calls this). */
  sweepExpired(now?: number): Promise<number>;
  /** Pauses this node's job intake (running jobs finish), runs `fn`, resumes: restart_server. */
  whilePaused<T>(fn: () => Promise<T>): Promise<T>;
  /** Stops accepting, lets running jobs finish (up to `timeoutMs`), answers waiting requests, waits for webhooks. */
  shutdown(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const inputKey = (id: string, slot: string) => `inputs/${id}/${slot}`;

/**
 * The job system on one box: records in SQLite, inputs on disk, a bounded in-memory queue feeding one
 * inference worker per device, outputs as files, webhooks, progress events, restart recovery.
 */
export class LocalJobService implements JobBackend {
  readonly events = new JobEvents();
  private readonly queue: LocalQueue;
  private readonly eta = new EtaEstimator();
  private readonly webhooks: WebhookSender;
  /** Pending waitFinished() calls; shutdown answers them (the client then fetches from the next run). */
  private readonly waiters: FinishWaiters;
  private readonly execution: ExecuteContext;
  private closing = false;

  constructor(private readonly o: JobServiceOptions) {
    this.queue = new LocalQueue(o.maxQueue, o.runners.length, (id, slot) => this.execute(id, o.runners[slot]));
    this.waiters = new FinishWaiters(this.events, (id) => o.store.get(id));
    this.webhooks = new WebhookSender({ store: o.store, options: o.webhook, log: o.log, outputs: this });
    this.execution = {
      store: o.store,
      blobs: o.blobs,
      eta: this.eta,
      tempTtlMs: o.tempTtlMs,
      log: o.log,
      emit: (e) => this.events.emit(e),
      saveOutputs: async (record, pngs) =>
        o.objects?.enabled ? saveOutputObjects(o.objects, record, pngs) : { outputs: await writeOutputs(o.outputDir, record, pngs) },
      finish: (id, patch) => o.store.update(id, patch),
    };
  }

  get accepting(): boolean {
    return !this.closing;
  }

  async newId(): Promise<string> {
    for (;;) {
      const id = randomJobId();
      if (!(await this.o.store.get(id))) return id;
    }
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

  async submit(spec: GenerationSpec, response: JobRecord['response'], owner: string): Promise<JobRecord> {
    // The place is taken before the first await, so concurrent requests cannot all pass the check.
    const place = this.queue.reserve();
    let record: JobRecord;
    try {
      record = await storeNewJob(this.o.blobs, spec, response, owner);
      await this.o.store.insert(record);
    } catch (err) {
      place.cancel();
      throw err;
    }
    place.enqueue(record.id);
    return record;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.o.store.get(id);
  }

  waitFinished(id: string, timeoutMs: number): Promise<JobRecord | null> {
    return this.waiters.wait(id, timeoutMs);
  }

  async status(record: JobRecord): Promise<QueueStatus> {
    const { running, waiting } = this.queue.snapshot();
    const position = this.queue.position(record.id);
    const ahead = position === null || position < 0 ? [] : [...running, ...waiting.slice(0, position)];
    let seconds = 0;
    for (const id of ahead) {
      const r = await this.o.store.get(id);
      if (r) seconds += this.eta.seconds(workSizeOf(r.spec), fractionDone(r));
    }
    seconds += this.eta.seconds(workSizeOf(record.spec), fractionDone(record));
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

  async cancel(id: string): Promise<boolean> {
    if (!this.queue.remove(id)) return false;
    await this.finishFailed(id, 'removed from the queue by clear_queue', false);
    return true;
  }

  async queueInfo() {
    const { running, waiting } = this.queue.snapshot();
    let etaSeconds = 0;
    for (const id of [...running, ...waiting]) {
      const r = await this.o.store.get(id);
      if (r) etaSeconds += this.eta.seconds(workSizeOf(r.spec), fractionDone(r));
    }
    return { waiting: waiting.length, running: running.length, etaSeconds };
  }

  readOutput(name: string): Promise<Buffer | null> {
    return readFile(path.join(this.o.outputDir, name)).catch(() => null);
  }

  outputUrls(record: JobRecord): Promise<string[]> {
    return jobOutputUrls(this.o.objects, record);
  }

  /** Base64 of a finished job's PNGs, for `base64: "yes"` responses. */
  async base64Outputs(record: JobRecord): Promise<string[]> {
    const files = await readJobOutputs(this.o.objects, record, (n) => this.readOutput(n));
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
    this.waiters.releaseAll();
    await this.webhooks.drain(Math.min(timeoutMs, 5000));
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
    const objects = this.o.objects;
    return sweepExpired(this.o.store, (names, r) => (r.result?.s3 && objects ? deleteOutputObjects(objects, r) : deleteFiles(this.o.outputDir, names)), now);
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
    const outcome = await executeJob(this.execution, record, runner);
    if (!outcome) return;
    await this.o.blobs.delete(Object.values(record.inputs));
    this.announce(outcome.record, outcome.result);
  }

  private async finishFailed(id: string, message: string, clientError: boolean): Promise<void> {
    const record = await this.o.store.update(id, failurePatch(message, clientError));
    if (!record) return;
    await this.o.blobs.delete(Object.values(record.inputs));
    this.announce(record, null);
  }

  /** Tells waiters and SSE streams, updates metrics, and starts the webhook (which never holds up the queue). */
  private announce(record: JobRecord, result: GenerationResult | null) {
    this.events.emit({ type: 'state', id: record.id, record });
    this.o.onFinished?.(record, result);
    this.webhooks.send(record);
  }
}

/** Stores a new job's input images and returns its queued record (not yet inserted). */
export async function storeNewJob(
  blobs: BlobStore,
  spec: GenerationSpec,
  response: JobRecord['response'],
  owner: string,
  inputTtlMs?: number,
): Promise<JobRecord> {
  const { json, images } = splitSpec(spec);
  const inputs: Record<string, string> = {};
  await Promise.all(
    Object.entries(images).map(async ([slot, image]) => {
      inputs[slot] = inputKey(spec.id, slot);
      await blobs.put(inputs[slot], encodeRaw(image), inputTtlMs);
    }),
  );
  return {
    id: spec.id,
    owner,
    fileToken: newFileToken(),
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
}

function deleteFiles(dir: string, names: readonly string[]): Promise<unknown> {
  return Promise.all(names.map((name) => rm(path.join(dir, name), { force: true })));
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
