import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import { checkKey, keyFromRequest, mayRead, type Caller } from '../auth.js';
import { ClientError, badRequest } from '../../domain/client-error.js';
import { FINISHED, type JobRecord } from '../../jobs/record.js';
import { failedBody, processingBody, successBody } from '../../jobs/responses.js';

const ID = /^\d{1,20}$/;

function jobId(value: unknown, field: string): string {
  const id = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!ID.test(id)) throw badRequest(`${field}: must be a job id (the "id" of a generation response), got ${JSON.stringify(value ?? null)}`);
  return id;
}

/**
 * `fetch`: a job's result once it is done, "processing" (position, eta, progress) until then, the cause
 * when it failed. Also a Server-Sent Events stream per job for UIs.
 */
export const fetchRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  /** The job if this caller may see it; another tenant's job answers exactly as a missing one. */
  const jobFor = async (caller: Caller, id: string, field: string) => {
    const record = await ctx.jobs.get(id);
    if (!record || !mayRead(caller, record.owner)) throw new ClientError(404, `${field}: no job ${id} on this server`);
    return record;
  };
  const answer = async (caller: Caller, id: string, reply: FastifyReply) => {
    const record = await jobFor(caller, id, 'request_id');
    if (record.state === 'succeeded') {
      if (record.expired)
        throw new ClientError(410, `job ${id}: its outputs expired (temp: "yes" outputs are kept ${ctx.config.jobs.tempTtlMs / 3_600_000} h)`);
      return successBody(record, ctx.jobs);
    }
    if (record.state === 'failed') return reply.send(failedBody(record));
    return processingBody(record, await ctx.jobs.status(record));
  };

  app.post<{ Params: { id: string } }>('/api/v1/enterprise/fetch/:id', async (request, reply) => {
    const caller = checkKey(ctx.config, (request.body as Record<string, unknown> | undefined)?.key);
    return answer(caller, jobId(request.params.id, 'id'), reply);
  });
  app.post('/api/v1/enterprise/fetch', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const caller = checkKey(ctx.config, body.key);
    return answer(caller, jobId(body.request_id, 'request_id'), reply);
  });

  // SSE: "state" events (queued/running with position and eta), "progress" per step, then "done"
  // (the fetch body) and the stream ends. EventSource cannot send a body: the key comes as ?key= or a header.
  app.get<{ Params: { id: string } }>('/api/v1/enterprise/jobs/:id/events', async (request, reply) => {
    const caller = checkKey(ctx.config, keyFromRequest(request));
    const id = jobId(request.params.id, 'id');
    const first = await jobFor(caller, id, 'id');
    reply.hijack();
    // A long response, not a slow request: the idle-socket timeout does not apply (keep-alive comments flow every 15 s).
    request.raw.socket.setTimeout(0);
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let closed = false;
    const finish = async () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
      const record = await ctx.jobs.get(id);
      const urlsOnly = { outputUrls: (r: JobRecord) => ctx.jobs.outputUrls(r) };
      const unreadable = (err: Error) => ({ status: 'error', message: err instanceof ClientError ? err.message : 'the output URLs could not be made' });
      if (record) send('done', record.state === 'succeeded' ? await successBody(record, urlsOnly).catch(unreadable) : failedBody(record));
      res.end();
    };
    const unsubscribe = ctx.jobs.subscribe(id, (e) => {
      if (e.type === 'progress') send('progress', { id: Number(id), step: e.step, total: e.total });
      else if (FINISHED.includes(e.record.state)) void finish();
      else send('state', { id: Number(id), state: e.record.state });
    });
    const keepAlive = setInterval(() => {
      res.write(': keep-alive\n\n');
      // Events between nodes (Redis pub/sub) are not stored: a missed "finished" must not leave the stream open.
      ctx.jobs.get(id).then(
        (r) => {
          if (r && FINISHED.includes(r.state)) void finish();
        },
        () => undefined,
      );
    }, 15_000);
    request.raw.on('close', () => {
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
    });
    // Read again after subscribing: a job that finished in between must not leave the stream hanging.
    const current = (await ctx.jobs.get(id)) ?? first;
    if (FINISHED.includes(current.state)) return finish();
    const status = await ctx.jobs.status(current);
    send('state', {
      id: Number(id),
      state: current.state,
      queue_position: status.position === -1 ? 0 : status.position,
      eta: Math.round(status.etaSeconds),
      progress: current.progress,
    });
  });
};
