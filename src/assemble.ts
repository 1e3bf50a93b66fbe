import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { buildApp } from './server/app.js';
import type { WorkerControl } from './domain/index.js';
import { buildHealthApp } from './server/health-app.js';
import { Metrics } from './server/metrics.js';
import { ModelRegistry } from './runtime/model-registry.js';
import { WorkerPool } from './worker/worker-pool.js';
import { LocalJobService, type JobBackend } from './jobs/service.js';
import { SqliteJobStore } from './jobs/sqlite-store.js';
import { checkJobDatabase, type StorageReport } from './jobs/db-integrity.js';
import { FsBlobStore } from './jobs/fs-blob-store.js';
import type { JobRecord } from './jobs/record.js';
import type { GenerationResult } from './domain/index.js';
import { RedisBlobStore } from './jobs/redis-blob-store.js';
import { S3BlobStore } from './jobs/s3-blob-store.js';
import { RedisConnections } from './jobs/redis-connections.js';
import { RedisJobService } from './jobs/redis-service.js';
import { RemoteWorkers, serveWorkerCommands } from './jobs/redis-control.js';
import { DEFAULT_MODEL_ID } from './runtime/default-models.js';
import { pruneGraphCache } from './runtime/graph-cache-prune.js';
import { redactRequestPath } from './net/redact-url.js';

export interface RunningServer {
  /** The API (ROLE=api or both), or a worker node's health and metrics endpoints (ROLE=worker). */
  app: FastifyInstance;
  config: ServerConfig;
  jobs: JobBackend;
  /** The inference workers as the management endpoints see them (this process's threads, or every worker node). */
  workers: WorkerControl;
  models: ModelRegistry;
  /** Opens the default model's sessions (readiness flips when done). */
  warmUp(): Promise<void>;
  /** Graceful: stop accepting, finish or hand back running jobs, close everything. */
  close(): Promise<void>;
}

/**
 * Wires one server process: model registry → inference worker threads → job service → Fastify app.
 * QUEUE=local: one box (SQLite records, bounded in-process queue). QUEUE=redis://…: one node of
 * several sharing a Redis queue; ROLE says whether it serves the API, runs jobs, or both.
 * main.ts and the tests both use it.
 */
export async function assembleServer(config: ServerConfig, log: Logger = createLogger(config)): Promise<RunningServer> {
  // A damaged or foreign job database stops the start (or is moved aside) before anything else opens.
  const dbFile = path.join(config.dataDir, 'jobs.sqlite');
  const storage: StorageReport | undefined = config.queue === 'local' ? checkJobDatabase(dbFile, config.outputDir, config.onDbCorruption, log) : undefined;
  const models = await ModelRegistry.open(config.modelsDir);
  const defaultModel = () => {
    const catalog = models.catalog();
    const wanted = process.env.DEFAULT_MODEL || DEFAULT_MODEL_ID;
    return catalog.models.has(wanted) ? wanted : (catalog.models.keys().next().value ?? null);
  };
  const serves = config.role !== 'worker';
  // API-only nodes never load a model: no inference threads at all.
  const pool =
    config.role === 'api'
      ? null
      : new WorkerPool(
          {
            providers: config.executionProviders,
            deviceId: config.deviceId,
            threads: config.threads,
            memoryBudgetBytes: config.memoryBudget.bytes,
            graphCacheDir: config.graphCacheDir,
            graphCacheMaxBytes: config.graphCacheMaxBytes,
            fusedStep: config.fusedStep,
            fusedStepCache: config.fusedStepCache,
          },
          1,
          path.join(config.modelsDir, 'annotators'),
        );
  let metrics: Metrics | null = null;
  const onFinished = (record: JobRecord, result: GenerationResult | null) => metrics?.jobFinished(record, result);
  const webhook = {
    attempts: config.jobs.webhookAttempts,
    timeoutMs: config.jobs.webhookTimeoutMs,
    backoffMs: config.jobs.webhookBackoffMs,
    policy: config.outbound,
  };

  let jobs: JobBackend;
  let redis: RedisConnections | null = null;
  // One box: the store exists unconfigured with OUTPUT_STORE=local, so update_s3 can turn it on at run time.
  // Several nodes: only with OUTPUT_STORE=s3 (every node must write where the others read).
  const objects = config.queue === 'local' || config.s3 ? new S3BlobStore(config.s3) : undefined;
  if (config.queue === 'local') {
    const local = new LocalJobService({
      store: new SqliteJobStore(dbFile),
      blobs: new FsBlobStore(path.join(config.dataDir, 'blobs')),
      outputDir: config.outputDir,
      objects,
      runners: pool!.workers,
      maxQueue: config.maxQueue,
      maxAttempts: config.jobs.maxAttempts,
      tempTtlMs: config.jobs.tempTtlMs,
      webhook,
      log,
      onFinished,
    });
    const recovered = await local.recover();
    if (recovered.requeued + recovered.failed > 0) log.info(recovered, 'jobs from the previous run recovered');
    jobs = local;
  } else {
    redis = await RedisConnections.open(config.queue, config.redisPrefix, log);
    jobs = await RedisJobService.open({
      redis,
      nodeName: config.nodeName,
      serves,
      runners: pool?.workers ?? [],
      objects,
      maxQueue: config.maxQueue,
      maxAttempts: config.jobs.maxAttempts,
      tempTtlMs: config.jobs.tempTtlMs,
      sweepIntervalMs: config.jobs.sweepIntervalMs,
      lockMs: config.jobs.lockMs,
      stalledCheckMs: config.jobs.stalledCheckMs,
      webhook,
      log,
      onFinished,
    });
  }
  metrics = new Metrics(() => jobs.queueInfo());

  // This process's own threads; restart waits for the running job and holds the queue meanwhile.
  const threads: WorkerControl | null = pool && {
    preload: (model, controlnets) => pool.preload(model, controlnets),
    loaded: () => pool.loaded(),
    release: (prefix) => pool.release(prefix),
    restart: () => jobs.whilePaused(() => pool.restart()),
    hint: (request) => pool.hint(request),
  };
  let control = threads!;
  if (redis) {
    // Worker nodes take management commands from any API node; API nodes send them to every worker node.
    if (threads) await serveWorkerCommands(redis, config.nodeName, threads, log);
    if (serves) {
      const remote = new RemoteWorkers(redis, log);
      await remote.listen();
      control = remote;
    }
  }

  let ready = false;
  // performance.now() counts from the process's start: start → ready includes Node's own start and the imports.
  const startup = { readyMs: null as number | null };
  const sharedFiles = redis ? (objects ?? new RedisBlobStore(redis.commands, redis.keys)) : undefined;
  const ctx = {
    config,
    models,
    jobs,
    workers: control,
    metrics,
    defaultModel,
    ready: () => ready,
    sharedFiles,
    objects,
    storage,
    startToReadyMs: () => startup.readyMs,
  };
  const app = serves ? buildApp(ctx, log) : buildHealthApp(ctx, log);

  const sweeper = setInterval(() => {
    jobs.sweepExpired().catch((err) => log.error({ err }, 'sweeping expired outputs failed'));
  }, config.jobs.sweepIntervalMs);
  sweeper.unref();

  return {
    app,
    config,
    jobs,
    workers: control,
    models,
    async warmUp() {
      const started = performance.now();
      // Entries of model files that changed or went, and the least recently used past GRAPH_CACHE_MAX_BYTES.
      if (config.graphCacheDir && pool) {
        const pruned = await pruneGraphCache(config.graphCacheDir, config.graphCacheMaxBytes);
        if (pruned.removed.length > 0)
          log.info(
            { removed: pruned.removed.map((r) => ({ reason: r.reason, bytes: r.bytes })), kept_bytes: pruned.keptBytes, max_bytes: config.graphCacheMaxBytes },
            'graph cache pruned',
          );
      }
      const catalog = models.catalog();
      const id = defaultModel();
      const plan = config.preload;
      const named = typeof plan === 'object' ? plan.names : [];
      const bases = plan === 'none' ? [] : named.some((n) => catalog.models.has(n)) ? named.filter((n) => catalog.models.has(n)) : id ? [id] : [];
      for (const n of named)
        if (!catalog.models.has(n) && !bases.some((b) => catalog.controlnets.get(b)?.has(n))) log.warn(`PRELOAD: no base model or ControlNet named "${n}"`);
      for (const [i, baseId] of bases.entries()) {
        const model = catalog.models.get(baseId);
        if (!model || !pool) continue;
        const all = catalog.controlnets.get(model.id) ?? new Map<string, string>();
        // "default": every ControlNet of the default model, while they fit MODEL_MEMORY_BUDGET (a preload never evicts).
        const names = plan === 'default' ? [...all.keys()] : named.filter((n) => all.has(n));
        const paths = names.map((n) => all.get(n)!);
        const failure = await pool.preload(model, paths);
        if (failure) log.error(`loading ${model.id} failed: ${failure}`);
        else {
          const sessions = await pool.loaded();
          log.info(
            {
              sessions: sessions.length,
              providers: [...new Set(sessions.map((s) => s.provider))],
              bytes: sessions.reduce((sum, s) => sum + (s.bytes ?? 0), 0),
              budget_bytes: config.memoryBudget.bytes,
            },
            `${model.id} loaded`,
          );
          // First run of each allowed size (cuDNN's algorithm search is slow), so no request pays it, and the fused step
          // graph of the ControlNets PRELOAD names (in its order, up to 4) built when FUSED_STEP allows: the operator named
          // the set requests use together (PRELOAD=default opens every ControlNet that fits, not a set); the first model only.
          const open = new Set(sessions.filter((s) => s.kind === 'controlnet').map((s) => s.path));
          const opened = paths.filter((p) => open.has(p));
          const fuse = config.fusedStep === 'off' || plan === 'default' ? [] : opened.slice(0, 4);
          if (i === 0 && (config.warmupSizes.length > 0 || fuse.length > 0)) {
            const report = await pool.warmUp(model, opened, config.warmupSizes, fuse);
            if (typeof report === 'string') log.error(`warm-up of ${model.id} failed: ${report}`);
            else log.info({ warmup: report.map((r) => ({ size: `${r.width}x${r.height}`, ms: Math.round(r.ms) })) }, 'warm-up done');
          }
        }
      }
      startup.readyMs = performance.now();
      log.info({ preload_ms: Math.round(performance.now() - started), start_to_ready_ms: Math.round(startup.readyMs) }, 'ready');
      for (const r of models.catalog().rejected) log.warn({ dir: r.dir, layout: r.layout }, `model folder not used: ${r.reason}`);
      ready = models.catalog().models.size > 0;
    },
    async close() {
      clearInterval(sweeper);
      // Jobs first (new generations get 503, fetch still answers), then HTTP, then the threads.
      await jobs.shutdown(config.jobs.shutdownTimeoutMs);
      await app.close();
      await pool?.close();
      await jobs.close();
      await redis?.close();
      objects?.close();
    },
  };
}

/**
 * Structured JSON logs; credentials are redacted (the body's `key`, the `authorization`/`x-api-key` headers,
 * `?key=` in request URLs) and request bodies (prompts, base64 images) are never logged. URLs the server
 * fetches or posts to are logged through redactUrl (no query string).
 */
export function createLogger(config: Pick<ServerConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        'req.query.key',
        'key',
        '*.key',
        'api_key',
        '*.api_key',
        'body',
        '*.body',
      ],
      censor: '[redacted]',
    },
    serializers: { req: requestForLog },
  });
}

/** A request in the log: method, path (with `?key=` redacted) and the peer; never the body or the Host header. */
function requestForLog(req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: redactRequestPath(req.url ?? ''), remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
