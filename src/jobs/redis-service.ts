import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { GenerationResult, GenerationSpec } from '../domain/index.js';
import { EtaEstimator, fractionDone, workSizeOf } from './eta.js';
import { JobEvents, type JobEvent } from './events.js';
import { executeJob, failurePatch, type ExecuteContext, type JobPatch, type JobRunner } from './execute.js';
import { WebhookSender } from './job-webhook.js';
import { QueueFullError } from './queue.js';
import { outputName } from './outputs.js';
import { FINISHED, type JobRecord, type JobResult } from './record.js';
import { RedisBlobStore } from './redis-blob-store.js';
import type { RedisConnections } from './redis-connections.js';
import { RedisEventBus } from './redis-events.js';
import { GENERATION_QUEUE } from './redis-keys.js';
import { RedisJobStore } from './redis-store.js';
import type { QueueStatus } from './responses.js';
import { storeNewJob, type JobBackend } from './service.js';
import type { S3BlobStore } from './s3-blob-store.js';
import { deleteOutputObjects, jobOutputUrls, readJobOutputs, saveOutputObjects } from './s3-outputs.js';
import type { BlobStore } from './store.js';
import { sweepExpired } from './sweeper.js';
import { FinishWaiters } from './waiters.js';
import type { WebhookOptions } from './webhooks.js';

export interface RedisJobServiceOptions {
  redis: RedisConnections;
  /** This node's name, written into the records of the jobs it runs. */
  nodeName: string;
  /** Whether this node answers HTTP (submits, waits, streams) and whether it runs jobs. */
  serves: boolean;
  /** This node's inference workers; none on API-only nodes. */
  runners: readonly JobRunner[];
  /** OUTPUT_STORE=s3: outputs and job inputs are objects there instead of Redis blobs (every node needs the same settings). */
  objects?: S3BlobStore;
  /** Most queued (not yet running) jobs across all nodes. */
  maxQueue: number;
  maxAttempts: number;
  tempTtlMs: number;
  /** Temp outputs stay readable this much past their expiry, until the sweeper marks them. */
  sweepIntervalMs: number;
  /** A worker's hold on its running job (BullMQ lockDuration); renewed while the job runs. */
  lockMs: number;
  /** How often workers look for jobs whose worker died (BullMQ stalledInterval). */
  stalledCheckMs: number;
  webhook: WebhookOptions;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  onFinished?: (record: JobRecord, result: GenerationResult | null) => void;
}

/** Inputs of a queued job are kept this long; a job still waiting after that fails with a clear cause. */
const INPUT_TTL_MS = 7 * 24 * 3600 * 1000;
const bullId = (id: string) => `job-${id}`;
const outputKey = (name: string) => `outputs/${name}`;

/**
 * The job system shared by several nodes through Redis: records, inputs and output PNGs in Redis
 * (no shared disk needed), BullMQ as the queue (a worker that dies loses its lock and the job runs
 * again on another worker), events over pub/sub. API nodes submit and answer; worker nodes run jobs
 * on their inference threads; a node may do both.
 */
export class RedisJobService implements JobBackend {
  readonly events = new JobEvents();
  readonly store: RedisJobStore;
  private readonly blobs: RedisBlobStore;
  /** Input images of queued jobs: S3 when configured, else Redis. */
  private readonly inputs: BlobStore;
  private readonly bus: RedisEventBus;
  private readonly eta = new EtaEstimator();
  private readonly waiters: FinishWaiters;
  private readonly webhooks: WebhookSender;
  private readonly idle: JobRunner[];
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private closing = false;

  private constructor(private readonly o: RedisJobServiceOptions) {
    this.store = new RedisJobStore(o.redis.commands, o.redis.keys);
    this.blobs = new RedisBlobStore(o.redis.commands, o.redis.keys);
    this.inputs = o.objects ?? this.blobs;
    this.bus = new RedisEventBus(o.redis, o.log);
    this.waiters = new FinishWaiters(this.events, (id) => this.store.get(id));
    this.webhooks = new WebhookSender({ store: this.store, options: o.webhook, log: o.log, outputs: this });
    this.idle = [...o.runners];
  }

  static async open(o: RedisJobServiceOptions): Promise<RedisJobService> {
    const service = new RedisJobService(o);
    await service.start();
    return service;
  }

  private async start() {
    const { redis } = this.o;
    if (this.o.serves) {
      // Every finished job, whichever node ran it, teaches this node's ETA estimate.
      await this.bus.listen(this.events, (e) => {
        if (e.type === 'state' && e.record.state === 'succeeded' && e.record.result) {
          this.eta.record(workSizeOf(e.record.spec), e.record.result.generationTime);
        }
      });
      this.queue = new Queue(GENERATION_QUEUE, { connection: redis.bullmq('queue'), prefix: redis.keys.bullPrefix });
      this.queue.on('error', (err) => this.o.log.error({ err }, 'Redis queue error'));
      await this.queue.waitUntilReady();
      await this.requeueOrphans();
    }
    if (this.o.runners.length > 0) {
      this.worker = new Worker(GENERATION_QUEUE, (job) => this.process(job), {
        connection: redis.bullmq('worker'),
        prefix: redis.keys.bullPrefix,
        name: this.o.nodeName,
        concurrency: this.o.runners.length,
        lockDuration: this.o.lockMs,
        stalledInterval: this.o.stalledCheckMs,
        // Our own attempt count (in the record) decides when an interrupted job gives up.
        maxStalledCount: this.o.maxAttempts,
      });
      this.worker.on('error', (err) => this.o.log.error({ err }, 'Redis worker error'));
      const logged = (what: string) => (err: unknown) => this.o.log.error({ err }, what);
      this.worker.on('stalled', (jobId) => void this.onStalled(jobId).catch(logged('recording a stalled job failed')));
      this.worker.on('failed', (job, err) => void this.onQueueFailure(job, err).catch(logged('recording a job the queue gave up on failed')));
      await this.worker.waitUntilReady();
    }
  }

  get accepting(): boolean {
    return !this.closing;
  }

  newId(): Promise<string> {
    return this.store.newId();
  }

  async submit(spec: GenerationSpec, response: JobRecord['response'], owner: string): Promise<JobRecord> {
    // Refuse before uploading the images when the queue is plainly full; the insert re-checks atomically
    // (one Lua script counts the queued jobs and inserts), so concurrent submissions cannot overfill it.
    if ((await this.store.count('queued')) >= this.o.maxQueue) throw new QueueFullError(this.o.maxQueue);
    const record = await storeNewJob(this.inputs, spec, response, owner, INPUT_TTL_MS);
    if (!(await this.store.insertIfRoom(record, this.o.maxQueue))) {
      await this.inputs.delete(Object.values(record.inputs));
      throw new QueueFullError(this.o.maxQueue);
    }
    try {
      await this.enqueue(record.id);
    } catch (err) {
      await this.finishFailed(record.id, `the job could not be queued: ${(err as Error).message}`, { state: 'queued' });
      throw err;
    }
    return record;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.store.get(id);
  }

  waitFinished(id: string, timeoutMs: number): Promise<JobRecord | null> {
    return this.waiters.wait(id, timeoutMs);
  }

  async status(record: JobRecord): Promise<QueueStatus> {
    const [position, running, workers] = await Promise.all([
      record.state === 'running' ? -1 : record.state === 'queued' ? this.store.queuedAhead(record.id) : null,
      this.store.ids('running'),
      this.workerNodes(),
    ]);
    const queuedAhead =
      position !== null && position > 0 ? await this.o.redis.commands.send<string[]>('ZRANGE', [this.o.redis.keys.state('queued'), 0, position - 1]) : [];
    const ahead = position === null || position < 0 ? [] : await this.store.many([...running, ...queuedAhead]);
    const own = this.eta.seconds(workSizeOf(record.spec), fractionDone(record));
    return { position, etaSeconds: this.etaOf(ahead) / workers + own };
  }

  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    return this.events.subscribe(id, listener);
  }

  /** Removes every waiting job from the shared queue and fails it (a job a worker takes meanwhile runs). */
  async clearQueue(): Promise<number> {
    if (!this.queue) return 0;
    let removed = 0;
    for (const job of await this.queue.getWaiting(0, -1)) {
      if (!job?.id || (await this.queue.remove(job.id)) !== 1) continue;
      const record = await this.store.get(String(job.data.id));
      if (!record || FINISHED.includes(record.state)) continue;
      if (await this.finishFailed(record.id, 'removed from the queue by clear_queue', { state: record.state, attempts: record.attempts })) removed++;
    }
    return removed;
  }

  /** Removes one waiting job from the shared queue and fails it; false when a worker has it (or it is gone). */
  async cancel(id: string): Promise<boolean> {
    if (!this.queue || (await this.queue.remove(bullId(id))) !== 1) return false;
    return this.finishFailed(id, 'removed from the queue by clear_queue', { state: 'queued' });
  }

  async queueInfo() {
    const [queued, running, workers] = await Promise.all([this.store.ids('queued'), this.store.ids('running'), this.workerNodes()]);
    const records = await this.store.many([...running, ...queued]);
    return { waiting: queued.length, running: running.length, etaSeconds: this.etaOf(records) / workers };
  }

  readOutput(name: string): Promise<Buffer | null> {
    return this.blobs.get(outputKey(name));
  }

  outputUrls(record: JobRecord): Promise<string[]> {
    return jobOutputUrls(this.o.objects, record);
  }

  async base64Outputs(record: JobRecord): Promise<string[]> {
    const files = await readJobOutputs(this.o.objects, record, (n) => this.readOutput(n));
    return files.map((f) => (f ? f.toString('base64') : ''));
  }

  sweepExpired(now = Date.now()): Promise<number> {
    const objects = this.o.objects;
    return sweepExpired(this.store, (names, r) => (r.result?.s3 && objects ? deleteOutputObjects(objects, r) : this.blobs.delete(names.map(outputKey))), now);
  }

  /** Pauses this node's worker (its running job finishes first), runs `fn`, resumes: restart_server. */
  async whilePaused<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.worker) return fn();
    await this.worker.pause();
    try {
      return await fn();
    } finally {
      await this.worker.resume();
    }
  }

  /**
   * Stops accepting, lets this node's running job finish (up to `timeoutMs`; after that its lock lapses
   * and another worker runs it again), answers waiting requests with "processing", waits for webhooks.
   * Queued jobs stay in Redis for the other nodes.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.worker) {
      const closed = this.worker.close();
      const timedOut = await Promise.race([closed.then(() => false), delay(timeoutMs).then(() => true)]);
      if (timedOut) {
        this.o.log.warn({}, 'shutdown: a job was still running; another worker node runs it once its lock lapses');
        void this.worker.close(true).catch(() => undefined);
      }
    }
    this.waiters.releaseAll();
    await this.webhooks.drain(Math.min(timeoutMs, 5000));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.worker?.close(true), this.queue?.close()]);
  }

  /** Jobs whose record is queued but which never reached BullMQ (their API node died in between) are queued again. */
  private async requeueOrphans() {
    for (const id of await this.store.ids('queued')) await this.enqueue(id);
  }

  private enqueue(id: string) {
    // The same BullMQ id twice adds nothing, so re-adding a job that is already queued is harmless.
    return this.queue!.add(
      'generate',
      { id },
      {
        jobId: bullId(id),
        // Retries cover infrastructure errors (Redis unreachable mid-job); a failed generation is recorded, not thrown.
        attempts: this.o.maxAttempts,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: { age: 24 * 3600 },
      },
    );
  }

  private async process(job: Job): Promise<void> {
    const runner = this.idle.pop()!;
    try {
      await this.runJob(String(job.data.id), runner);
    } finally {
      this.idle.push(runner);
    }
  }

  /** Runs one job on this node, unless it is finished or was interrupted too often. */
  private async runJob(id: string, runner: JobRunner): Promise<void> {
    const record = await this.claim(id);
    if (!record) return;
    const { attempts } = record;
    this.bus.publish({ type: 'state', id, record });
    const context: ExecuteContext = {
      store: this.store,
      blobs: this.inputs,
      // API nodes learn durations from the finished events; a worker-only node keeps its own estimate.
      eta: this.o.serves ? new EtaEstimator() : this.eta,
      tempTtlMs: this.o.tempTtlMs,
      log: this.o.log,
      emit: (e) => this.bus.publish(e),
      saveOutputs: (r, pngs) => this.saveOutputs(r, pngs),
      // Only this run may finish the job: if its lock lapsed and another node ran it, nothing is written twice.
      finish: (jobId, patch) => this.store.updateIf(jobId, { state: 'running', attempts }, patch),
    };
    const outcome = await executeJob(context, record, runner);
    if (!outcome) return;
    await this.deleteInputs(record);
    this.announce(outcome.record, outcome.result);
  }

  /**
   * Marks the job running here (one more attempt), or fails it when it already ran `maxAttempts` times.
   * Compare-and-set on state and attempts; a concurrent change (the stalled check putting it back in
   * line as this worker takes it) means reading it again.
   */
  private async claim(id: string): Promise<JobRecord | null> {
    for (let tries = 0; tries < 5; tries++) {
      const current = await this.store.get(id);
      if (!current || FINISHED.includes(current.state)) return null;
      const owner = { state: current.state, attempts: current.attempts };
      if (current.attempts >= this.o.maxAttempts) {
        const message = `interrupted ${current.attempts} times (worker nodes stopped or crashed while running it); not retried`;
        if (await this.finishFailed(id, message, owner)) return null;
        continue;
      }
      const patch = { state: 'running' as const, startedAt: Date.now(), progress: null, attempts: current.attempts + 1, node: this.o.nodeName };
      const record = await this.store.updateIf(id, owner, patch);
      if (record) return record;
    }
    throw new Error(`job ${id} kept changing while this worker tried to start it`);
  }

  private async saveOutputs(record: JobRecord, pngs: readonly Uint8Array[]): Promise<Pick<JobResult, 'outputs' | 's3'>> {
    if (this.o.objects) return saveOutputObjects(this.o.objects, record, pngs);
    const ttl = record.response.temp ? this.o.tempTtlMs + this.o.sweepIntervalMs : undefined;
    const outputs = await Promise.all(
      pngs.map(async (png, n) => {
        const name = outputName(record, n);
        await this.blobs.put(outputKey(name), png, ttl);
        return name;
      }),
    );
    return { outputs };
  }

  /** The finished job's inputs are no longer needed; a store that is down leaves them (S3: a lifecycle rule on inputs/ sweeps them). */
  private async deleteInputs(record: JobRecord) {
    await this.inputs.delete(Object.values(record.inputs)).catch((err) => this.o.log.warn({ err, job: record.id }, 'deleting the job inputs failed'));
  }

  /** BullMQ found a job whose worker stopped renewing its lock and put it back in line: say so in the record. */
  private async onStalled(jobId: string) {
    const id = jobId.replace(/^job-/, '');
    const record = await this.store.get(id).catch(() => null);
    if (record?.state !== 'running') return;
    const queued = await this.store.updateIf(id, { state: 'running', attempts: record.attempts }, { state: 'queued', progress: null });
    if (queued) {
      this.o.log.warn({ job: id, node: record.node }, 'a worker stopped while running a job; it is queued again');
      this.bus.publish({ type: 'state', id, record: queued });
    }
  }

  /** BullMQ gave up on a job (infrastructure errors on every attempt, or stalled too often): fail its record. */
  private async onQueueFailure(job: Job | undefined, err: Error) {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(err.message);
    if (!final) return;
    const record = await this.store.get(String(job.data.id)).catch(() => null);
    if (!record || FINISHED.includes(record.state)) return;
    await this.finishFailed(record.id, `the job could not be run: ${err.message}`, { state: record.state, attempts: record.attempts });
  }

  private async finishFailed(id: string, message: string, expected: JobPatch): Promise<boolean> {
    const record = await this.store.updateIf(id, expected, failurePatch(message, false));
    if (!record) return false;
    await this.deleteInputs(record);
    this.announce(record, null);
    return true;
  }

  /** Tells every node's waiters and SSE streams, counts it in this node's metrics, sends the webhook (once: only the finishing node). */
  private announce(record: JobRecord, result: GenerationResult | null) {
    this.bus.publish({ type: 'state', id: record.id, record });
    this.o.onFinished?.(record, result);
    this.webhooks.send(record);
  }

  private etaOf(records: readonly JobRecord[]): number {
    let seconds = 0;
    for (const r of records) seconds += this.eta.seconds(workSizeOf(r.spec), fractionDone(r));
    return seconds;
  }

  /** Worker nodes listening for commands: how many jobs run side by side. */
  private async workerNodes(): Promise<number> {
    const reply = await this.o.redis.commands.send<[string, number]>('PUBSUB', ['NUMSUB', this.o.redis.keys.control]);
    return Math.max(1, Number(reply[1]));
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
