import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';

/** Liveness (the process answers) and readiness (models loaded, accepting work). */
export const healthRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!ctx.jobs.accepting) return reply.code(503).send({ status: 'error', message: 'shutting down' });
    if (!ctx.ready()) return reply.code(503).send({ status: 'error', message: 'models are still loading' });
    const queue = await ctx.jobs.queueInfo();
    return { status: 'ok', queue: { waiting: queue.waiting, running: queue.running } };
  });
};
