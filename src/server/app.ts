import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.js';
import { ApiError } from '../util/errors.js';
import type { ModelRegistry } from '../runtime/model-registry.js';
import type { Jobs } from '../jobs/service.js';
import type { BlobStore } from '../jobs/store.js';
import type { S3BlobStore } from '../jobs/s3-blob-store.js';
import type { StorageReport } from '../jobs/db-integrity.js';
import { QueueFullError } from '../jobs/queue.js';
import type { Metrics } from './metrics.js';
import type { WorkerControl } from '../domain/index.js';
import { detectRoutes } from './routes/detect.js';
import { nsfwCheckRoutes } from './routes/nsfw-check.js';
import { controlNetRoutes } from './routes/controlnet.js';
import { fetchRoutes } from './routes/fetch.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { managementRoutes } from './routes/management.js';
import { observabilityRoutes } from './routes/observability.js';
import { playgroundRoutes } from './routes/playground.js';
import { storageRoutes } from './routes/storage.js';
import { registerRateLimit } from './rate-limit.js';
import { errorBody, installNotFound, statusOf } from './error-shape.js';
import { httpOptions, pathRoots } from './http-options.js';

export type { WorkerControl };

/** What the routes need; built by main.ts (or a test) and shared by every plugin. */
export interface AppContext {
  config: ServerConfig;
  models: ModelRegistry;
  jobs: Jobs;
  workers: WorkerControl;
  metrics: Metrics;
  defaultModel: () => string | null;
  /** True once the default model's sessions are open. */
  ready: () => boolean;
  /** Where API nodes sharing a Redis queue share uploaded images (absent on one box: they stay on disk). */
  sharedFiles?: BlobStore;
  /** The S3-compatible output store (OUTPUT_STORE=s3; on one box also unconfigured, for update_s3). */
  objects?: S3BlobStore;
  /** The job database's state at start (QUEUE=local): system_details reports it, a quarantine included. */
  storage?: StorageReport;
}

/** Where uploaded images are shared: the S3 store while it is configured, else sharedFiles. */
export const uploadStore = (ctx: AppContext): BlobStore | undefined => (ctx.objects?.enabled ? ctx.objects : ctx.sharedFiles);

export function buildApp(ctx: AppContext, logger: FastifyBaseLogger): FastifyInstance {
  const roots = pathRoots(ctx.config);
  const app = Fastify({
    loggerInstance: logger,
    // Base64 images ride in the JSON body.
    bodyLimit: Math.ceil(ctx.config.image.maxBytes * 1.4) * 3 + 1024 * 1024,
    ...httpOptions(ctx.config),
  }) as unknown as FastifyInstance;

  // Every error answers in the contract's shape; only ApiErrors and Fastify's own 4xx reach the client (paths scrubbed).
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof QueueFullError) {
      ctx.metrics.rejectedRequest('queue_full');
      return reply.code(429).header('retry-after', '10').send({ status: 'error', message: error.message });
    }
    const status = statusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else {
      if (error instanceof ApiError && error.logDetail) request.log.warn(error.logDetail, 'request refused');
      if (status !== 401) ctx.metrics.rejectedRequest('bad_request');
    }
    return reply.code(status).send(errorBody(error, status, roots));
  });
  installNotFound(app);

  registerRateLimit(app, ctx.config);
  for (const routes of [healthRoutes, fileRoutes, controlNetRoutes, detectRoutes, nsfwCheckRoutes, fetchRoutes, managementRoutes, storageRoutes, observabilityRoutes, playgroundRoutes]) {
    app.register(routes, { ctx });
  }
  return app;
}
