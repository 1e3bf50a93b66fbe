import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppContext } from './context.js';
import { healthRoutes } from './routes/health.js';
import { errorBody, installNotFound, statusOf } from './error-shape.js';
import { httpOptions, pathRoots } from './http-options.js';

/** The HTTP of a worker-only node (ROLE=worker): liveness, readiness and metrics; it serves no API. */
export function buildHealthApp(ctx: AppContext, logger: FastifyBaseLogger): FastifyInstance {
  const roots = pathRoots(ctx.config);
  const app = Fastify({ loggerInstance: logger, ...httpOptions(ctx.config) }) as unknown as FastifyInstance;
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send(errorBody(error, status, roots));
  });
  installNotFound(app, ' (a worker node serves /healthz, /readyz and /metrics)');
  app.register(healthRoutes, { ctx });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  return app;
}
