import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ClientError } from '../domain/client-error.js';
import { QueueFullError } from '../jobs/queue.js';
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

import type { AppContext } from './context.js';

export type { WorkerControl };
export { type AppContext, uploadStore } from './context.js';

export function buildApp(ctx: AppContext, logger: FastifyBaseLogger): FastifyInstance {
  const roots = pathRoots(ctx.config);
  const app = Fastify({
    loggerInstance: logger,
    // Base64 images ride in the JSON body.
    bodyLimit: Math.ceil(ctx.config.image.maxBytes * 1.4) * 3 + 1024 * 1024,
    ...httpOptions(ctx.config),
  }) as unknown as FastifyInstance;

  // Every error answers in the contract's shape; only ClientErrors and Fastify's own 4xx reach the client (paths scrubbed).
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof QueueFullError) {
      ctx.metrics.rejectedRequest('queue_full');
      return reply.code(429).header('retry-after', '10').send({ status: 'error', message: error.message });
    }
    const status = statusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else {
      if (error instanceof ClientError && error.logDetail) request.log.warn(error.logDetail, 'request refused');
      if (status !== 401) ctx.metrics.rejectedRequest('bad_request');
    }
    return reply.code(status).send(errorBody(error, status, roots));
  });
  installNotFound(app);

  registerRateLimit(app, ctx.config);
  for (const routes of [
    healthRoutes,
    fileRoutes,
    controlNetRoutes,
    detectRoutes,
    nsfwCheckRoutes,
    fetchRoutes,
    managementRoutes,
    storageRoutes,
    observabilityRoutes,
    playgroundRoutes,
  ]) {
    app.register(routes, { ctx });
  }
  return app;
}
