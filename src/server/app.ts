import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerConfig } from '../config.js';
import { ApiError } from '../util/errors.js';
import type { ModelCatalog } from '../runtime/catalog.js';
import type { JobQueue } from '../jobs/queue.js';
import { controlNetRoutes } from './routes/controlnet.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { QueueFullError } from '../jobs/queue.js';

/** What the routes need; built by main.ts (or a test) and shared by every plugin. */
export interface AppContext {
  config: ServerConfig;
  catalog: () => ModelCatalog;
  queue: JobQueue;
  defaultModel: string | null;
  /** True once the default model's sessions are open. */
  ready: () => boolean;
}

export function buildApp(ctx: AppContext, options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? { level: ctx.config.logLevel },
    // Base64 images ride in the JSON body.
    bodyLimit: Math.ceil(ctx.config.image.maxBytes * 1.4) * 3 + 1024 * 1024,
    ...options,
  });

  // Every error answers in the contract's shape; only ApiErrors and Fastify's own 4xx reach the client verbatim.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof QueueFullError) {
      return reply.code(429).header('retry-after', '10').send({ status: 'error', message: error.message });
    }
    const status = error instanceof ApiError ? error.statusCode : error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ status: 'error', message: 'internal server error; see the server log' });
    }
    return reply.code(status).send({ status: 'error', message: error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ status: 'error', message: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });

  app.register(healthRoutes, { ctx });
  app.register(fileRoutes, { ctx });
  app.register(controlNetRoutes, { ctx });
  return app;
}
