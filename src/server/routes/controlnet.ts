import { randomInt } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../app.js';
import { checkKey } from '../auth.js';
import { controlNetRequestSchema, describeIssues, type ControlNetRequest } from '../contract.js';
import { planGeneration, type GenerationPlan } from '../plan.js';
import { loadImageField } from '../../image/source.js';
import { ApiError, badRequest } from '../../util/errors.js';
import type { JobRecord } from '../../jobs/record.js';
import { processingBody, successBody } from '../../jobs/responses.js';
import type { GenerationSpec } from '../../domain/index.js';

/** Seeds past 2^53 are echoed as strings so JSON clients do not round them. */
const seedForJson = (seed: bigint) => (seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString());

/** How an image field is echoed in meta: URLs as given, inline data as a marker (never the blob). */
const imageForMeta = (value: string | null) => (value === null ? null : /^https?:\/\//i.test(value) ? value : 'base64');

export const controlNetRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    checkKey(ctx.config, raw.key);
    if (!ctx.jobs.accepting) throw new ApiError(503, 'the server is shutting down; retry on another node or later');
    const parsed = controlNetRequestSchema.safeParse(raw);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const req = parsed.data;
    const plan = planGeneration(req, raw, ctx.models.catalog(), ctx.defaultModel());
    const spec = await buildSpec(req, plan, ctx);
    const record = await ctx.jobs.submit(spec, {
      baseUrl: baseUrlOf(ctx, request),
      base64: req.base64,
      temp: req.temp,
      webhook: req.webhook,
      trackId: req.track_id,
      warnings: plan.warnings,
      meta: requestMeta(req, plan, spec),
    });
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

export function baseUrlOf(ctx: AppContext, request: FastifyRequest): string {
  return ctx.config.publicUrl || `${request.protocol}://${request.host}`;
}

/** A finished job as the contract answers it: success body, or the failure as an error. */
export async function finishedResponse(ctx: AppContext, record: JobRecord, reply: FastifyReply) {
  if (record.state === 'succeeded') {
    if (record.expired) throw new ApiError(410, `job ${record.id}: its outputs expired (temp: "yes" outputs are kept ${ctx.config.jobs.tempTtlMs / 3_600_000} h)`);
    return successBody(record, record.response.base64 ? await ctx.jobs.base64Outputs(record) : undefined);
  }
  const status = record.error?.clientError ? 400 : 500;
  return reply.code(status).send({ status: 'error', id: Number(record.id), message: record.error?.message ?? 'the job failed' });
}

async function buildSpec(req: ControlNetRequest, plan: GenerationPlan, ctx: AppContext): Promise<GenerationSpec> {
  const limits = ctx.config.image;
  const load = (field: string, value: string) => loadImageField(field, value, { allowRawBase64: req.base64, limits });
  const cache = new Map<string, ReturnType<typeof load>>();
  const once = (field: string, value: string) => {
    if (!cache.has(value)) cache.set(value, load(field, value));
    return cache.get(value)!;
  };
  const [init, mask, ...controls] = await Promise.all([
    req.init_image ? once('init_image', req.init_image) : null,
    req.mask_image ? once('mask_image', req.mask_image) : null,
    ...plan.units.map((u) => once(u.imageField, u.imageValue)),
  ]);
  return {
    id: await ctx.jobs.newId(),
    model: plan.model,
    controlnets: plan.units.map((u, k) => ({
      name: u.name,
      type: u.type,
      modelPath: u.modelPath,
      conditioningScale: u.conditioningScale,
      image: controls[k],
    })),
    autoHint: req.auto_hint,
    guessMode: req.guess_mode,
    prompt: req.prompt ?? '',
    negativePrompt: req.negative_prompt ?? '',
    initImage: init,
    maskImage: mask,
    strength: req.strength,
    width: req.width,
    height: req.height,
    samples: req.samples,
    steps: req.num_inference_steps,
    guidanceScale: req.guidance_scale,
    clipSkip: req.clip_skip,
    scheduler: req.scheduler ?? 'UniPCMultistepScheduler',
    useKarrasSigmas: plan.useKarrasSigmas,
    algorithmType: plan.algorithmType,
    seed: req.seed ?? BigInt(randomInt(0, 2 ** 32)),
    hint: { detectResolution: req.detect_resolution, lowThreshold: req.low_threshold, highThreshold: req.high_threshold },
  };
}

/** meta as the request defines it; the worker adds what only the run knows (resultMeta). */
function requestMeta(req: ControlNetRequest, plan: GenerationPlan, spec: GenerationSpec): Record<string, unknown> {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const scales = spec.controlnets.map((u) => u.conditioningScale);
  return {
    prompt: spec.prompt,
    negative_prompt: spec.negativePrompt,
    model_id: req.model_id ?? plan.model.id,
    model: plan.model.id,
    controlnet_model: spec.controlnets.map((u) => u.name).join(','),
    controlnet_type: spec.controlnets.map((u) => u.type).join(','),
    controlnet_conditioning_scale: scales.length === 1 ? scales[0] : scales,
    auto_hint: yn(spec.autoHint),
    guess_mode: yn(spec.guessMode),
    scheduler: spec.scheduler,
    use_karras_sigmas: yn(spec.useKarrasSigmas),
    algorithm_type: spec.algorithmType,
    W: spec.width,
    H: spec.height,
    steps: spec.steps,
    guidance_scale: spec.guidanceScale,
    strength: spec.strength,
    seed: seedForJson(spec.seed),
    n_samples: spec.samples,
    init_image: imageForMeta(req.init_image),
    control_image: imageForMeta(req.control_image),
    mask_image: imageForMeta(req.mask_image),
    detect_resolution: spec.hint.detectResolution,
    low_threshold: spec.hint.lowThreshold,
    high_threshold: spec.hint.highThreshold,
    clip_skip: spec.clipSkip ?? 1,
    safety_checker: 'no',
    enhance_prompt: 'no',
    multi_lingual: 'no',
    tomesd: 'no',
    upscale: 'no',
    vae: plan.vae,
    lora: null,
    embeddings: null,
    base64: yn(req.base64),
    temp: yn(req.temp),
    webhook: req.webhook,
    track_id: req.track_id,
    file_prefix: spec.id,
  };
}
