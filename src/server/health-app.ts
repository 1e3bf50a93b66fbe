import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppContext } from './app.js';
import { healthRoutes } from './routes/health.js';

/** The HTTP of a worker-only node (ROLE=worker): liveness, readiness and metrics; it serves no API. */
export function buildHealthApp(ctx: AppContext, logger: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger }) as unknown as FastifyInstance;
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ status: 'error', message: `no route for ${request.method} ${request.url.split('?')[0]} (a worker node serves /healthz, /readyz and /metrics)` });
  });
  app.register(healthRoutes, { ctx });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  return app;
}
