import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { buildApp, type WorkerControl } from './server/app.js';
import { Metrics } from './server/metrics.js';
import { ModelRegistry } from './runtime/model-registry.js';
import { WorkerPool } from './worker/worker-pool.js';
import { LocalJobService } from './jobs/service.js';
import { SqliteJobStore } from './jobs/sqlite-store.js';
import { FsBlobStore } from './jobs/fs-blob-store.js';
import { DEFAULT_MODEL_ID } from './runtime/default-models.js';

export interface RunningServer {
  app: FastifyInstance;
  config: ServerConfig;
  jobs: LocalJobService;
  workers: WorkerPool;
  models: ModelRegistry;
  /** Opens the default model's sessions (readiness flips when done). */
  warmUp(): Promise<void>;
  /** Graceful: stop accepting, finish or hand back running jobs, close everything. */
  close(): Promise<void>;
}

/**
 * Wires one server process on one box: model registry → inference worker threads → job service
 * (SQLite records, bounded queue, webhooks, sweeper) → Fastify app. main.ts and the tests both use it.
 */
export async function assembleServer(config: ServerConfig, log: Logger = createLogger(config)): Promise<RunningServer> {
  const models = await ModelRegistry.open(config.modelsDir);
  const defaultModel = () => {
    const catalog = models.catalog();
    const wanted = process.env.DEFAULT_MODEL || DEFAULT_MODEL_ID;
    return catalog.models.has(wanted) ? wanted : (catalog.models.keys().next().value ?? null);
  };
  const workers = new WorkerPool(
    { providers: config.executionProviders, deviceId: config.deviceId, threads: config.threads },
    1,
    path.join(config.modelsDir, 'annotators'),
  );
  let metrics: Metrics | null = null;
  const jobs = new LocalJobService({
    store: new SqliteJobStore(path.join(config.dataDir, 'jobs.sqlite')),
    blobs: new FsBlobStore(path.join(config.dataDir, 'blobs')),
    outputDir: config.outputDir,
    runners: workers.workers,
    maxQueue: config.maxQueue,
    maxAttempts: config.jobs.maxAttempts,
    tempTtlMs: config.jobs.tempTtlMs,
    webhook: { attempts: config.jobs.webhookAttempts, timeoutMs: config.jobs.webhookTimeoutMs, backoffMs: config.jobs.webhookBackoffMs },
    log,
    onFinished: (record, result) => metrics?.jobFinished(record, result),
  });
  metrics = new Metrics(() => jobs.queueInfo());

  let ready = false;
  const control: WorkerControl = {
    preload: (model, controlnets) => workers.preload(model, controlnets),
    loaded: () => workers.loaded(),
    release: (prefix) => workers.release(prefix),
    // Running jobs finish first; queued ones wait and then run on the fresh threads.
    restart: () => jobs.whilePaused(() => workers.restart()),
    hint: (request) => workers.hint(request),
  };
  const app = buildApp({ config, models, jobs, workers: control, metrics, defaultModel, ready: () => ready }, log);

  const recovered = await jobs.recover();
  if (recovered.requeued + recovered.failed > 0) log.info(recovered, 'jobs from the previous run recovered');
  const sweeper = setInterval(() => {
    jobs.sweepExpired().catch((err) => log.error({ err }, 'sweeping expired outputs failed'));
  }, config.jobs.sweepIntervalMs);
  sweeper.unref();

  return {
    app,
    config,
    jobs,
    workers,
    models,
    async warmUp() {
      const id = defaultModel();
      const model = id ? models.catalog().models.get(id) : undefined;
      if (model) {
        const all = models.catalog().controlnets.get(model.id) ?? new Map<string, string>();
        const wanted = config.preloadControlnets;
        const names = wanted === 'all' ? [...all.keys()] : wanted === 'none' ? [] : wanted.split(',').map((s) => s.trim());
        const failure = await workers.preload(model, names.flatMap((n) => (all.has(n) ? [all.get(n)!] : [])));
        if (failure) log.error(`loading ${model.id} failed: ${failure}`);
        else log.info({ sessions: (await workers.loaded()).length, providers: [...new Set((await workers.loaded()).map((s) => s.provider))] }, `${model.id} loaded`);
      }
      ready = models.catalog().models.size > 0;
    },
    async close() {
      clearInterval(sweeper);
      // Jobs first (new generations get 503, fetch still answers), then HTTP, then the threads.
      await jobs.shutdown(config.jobs.shutdownTimeoutMs);
      await app.close();
      await workers.close();
      await jobs.close();
    },
  };
}

/** Structured JSON logs; credentials are redacted and request bodies (prompts, base64 images) never logged. */
export function createLogger(config: Pick<ServerConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.query.key', 'key', '*.key'],
  });
}
