import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { checkKey } from '../auth.js';
import { buildSpec, requestMeta, validateRequest } from '../generation-spec.js';
import { loadImageField } from '../../image/source.js';
import { ClientError } from '../../domain/client-error.js';
import { scrubPaths } from '../../util/scrub-paths.js';
import type { JobRecord } from '../../jobs/record.js';
import { processingBody, successBody } from '../../jobs/responses.js';

export const controlNetRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    const caller = checkKey(ctx.config, raw.key);
    if (!ctx.jobs.accepting) throw new ClientError(503, 'the server is shutting down; retry on another node or later');
    const { req, plan } = validateRequest(raw, ctx.models.catalog(), ctx.defaultModel());
    const spec = await buildSpec(req, plan, {
      loadImage: (field, value) => loadImageField(field, value, { allowRawBase64: req.base64, limits: ctx.config.image, policy: ctx.config.outbound }),
      newId: () => ctx.jobs.newId(),
    });
    const record = await ctx.jobs.submit(
      spec,
      {
        baseUrl: baseUrlOf(ctx, request),
        base64: req.base64,
        temp: req.temp,
        webhook: req.webhook,
        trackId: req.track_id,
        warnings: plan.warnings,
        meta: requestMeta(req, plan, spec),
      },
      caller.tenant,
    );
    const finished = req.instant_response ? null : await ctx.jobs.waitFinished(record.id, ctx.config.jobs.syncTimeoutMs);
    if (!finished) {
      const current = (await ctx.jobs.get(record.id)) ?? record;
      return processingBody(current, await ctx.jobs.status(current));
    }
    return finishedResponse(ctx, finished, reply);
  };
  app.post('/api/v1/enterprise/controlnet', handler);
  app.post('/controlnet', handler);
};

/** Output URLs start with PUBLIC_URL (or http://HOST:PORT on loopback), never with the request's Host header. */
export function baseUrlOf(ctx: AppContext, _request?: FastifyRequest): string {
  return ctx.config.publicUrl;
}

/** A finished job as the contract answers it: success body, or the failure as an error. */
export async function finishedResponse(ctx: AppContext, record: JobRecord, reply: FastifyReply) {
  if (record.state === 'succeeded') {
    if (record.expired)
      throw new ClientError(410, `job ${record.id}: its outputs expired (temp: "yes" outputs are kept ${ctx.config.jobs.tempTtlMs / 3_600_000} h)`);
    return successBody(record, ctx.jobs);
  }
  const status = record.error?.clientError ? 400 : 500;
  return reply.code(status).send({ status: 'error', id: Number(record.id), message: scrubPaths(record.error?.message ?? 'the job failed') });
}
