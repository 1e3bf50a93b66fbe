import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.js';
import { ApiError } from '../util/errors.js';
import type { ModelRegistry } from '../runtime/model-registry.js';
import type { Jobs } from '../jobs/service.js';
import type { BlobStore } from '../jobs/store.js';
import { QueueFullError } from '../jobs/queue.js';
import type { Metrics } from './metrics.js';
import type { WorkerControl } from '../domain/index.js';
import { detectRoutes } from './routes/detect.js';
import { controlNetRoutes } from './routes/controlnet.js';
import { fetchRoutes } from './routes/fetch.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { managementRoutes } from './routes/management.js';
import { observabilityRoutes } from './routes/observability.js';

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
}

export function buildApp(ctx: AppContext, logger: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    // Base64 images ride in the JSON body.
    bodyLimit: Math.ceil(ctx.config.image.maxBytes * 1.4) * 3 + 1024 * 1024,
  }) as unknown as FastifyInstance;

  // Every error answers in the contract's shape; only ApiErrors and Fastify's own 4xx reach the client verbatim.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof QueueFullError) {
      ctx.metrics.rejectedRequest('queue_full');
      return reply.code(429).header('retry-after', '10').send({ status: 'error', message: error.message });
    }
    const status = error instanceof ApiError ? error.statusCode : error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ status: 'error', message: error instanceof ApiError ? error.message : 'internal server error; see the server log' });
    }
    if (status !== 401) ctx.metrics.rejectedRequest('bad_request');
    return reply.code(status).send({ status: 'error', message: error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ status: 'error', message: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });

  for (const routes of [healthRoutes, fileRoutes, controlNetRoutes, detectRoutes, fetchRoutes, managementRoutes, observabilityRoutes]) {
    app.register(routes, { ctx });
  }
  return app;
}
