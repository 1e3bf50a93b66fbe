import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../app.js';

export const healthRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!ctx.ready()) return reply.code(503).send({ status: 'error', message: 'models are still loading' });
    return { status: 'ok', queue: { waiting: ctx.queue.depth, running: ctx.queue.running } };
  });
};
