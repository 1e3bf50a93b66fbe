import { randomInt } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../app.js';
import { checkKey } from '../auth.js';
import { controlNetRequestSchema, describeIssues, type ControlNetRequest } from '../contract.js';
import { planGeneration, type GenerationPlan } from '../plan.js';
import { loadImageField } from '../../image/source.js';
import { badRequest } from '../../util/errors.js';
import { newJobId, writeOutputs } from '../../jobs/outputs.js';
import { JobFailedError } from '../../worker/worker-client.js';
import type { GenerationResult, GenerationSpec } from '../../pipeline/spec.js';

/** Seeds past 2^53 are echoed as strings so JSON clients do not round them. */
const seedForJson = (seed: bigint) => (seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString());

/** How an image field is echoed in meta: URLs as given, inline data as a marker (never the blob). */
const imageForMeta = (value: string | null) => (value === null ? null : /^https?:\/\//i.test(value) ? value : 'base64');

export const controlNetRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const handler = async (body: unknown, baseUrl: string) => {
    const raw = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    checkKey(ctx.config, raw.key);
    const parsed = controlNetRequestSchema.safeParse(raw);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const req = parsed.data;
    const plan = planGeneration(req, raw, ctx.catalog(), ctx.defaultModel);
    const spec = await buildSpec(req, plan, ctx);
    let result: GenerationResult;
    try {
      result = await ctx.queue.submit(spec);
    } catch (err) {
      if (err instanceof JobFailedError && err.clientError) throw badRequest(err.message);
      throw err;
    }
    const files = await writeOutputs(ctx.config.outputDir, spec.id, result.images);
    const urls = files.map((f) => `${baseUrl}/generations/${f}`);
    const warnings = [...plan.warnings, ...result.warnings];
    return {
      status: 'success',
      generationTime: Number((result.timings.totalMs / 1000).toFixed(3)),
      id: Number(spec.id),
      output: req.base64 ? result.images.map((png) => Buffer.from(png).toString('base64')) : urls,
      ...(req.base64 ? { output_urls: urls } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      meta: buildMeta(req, plan, spec, result),
    };
  };

  const route = async (request: { body: unknown; protocol: string; host: string }) =>
    handler(request.body, ctx.config.publicUrl || `${request.protocol}://${request.host}`);
  app.post('/api/v1/enterprise/controlnet', route);
  app.post('/controlnet', route);
};

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
    id: newJobId(),
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
    scheduler: req.scheduler ?? 'UniPCMultistepScheduler',
    useKarrasSigmas: plan.useKarrasSigmas,
    algorithmType: plan.algorithmType,
    seed: req.seed ?? BigInt(randomInt(0, 2 ** 32)),
    hint: { detectResolution: req.detect_resolution, lowThreshold: req.low_threshold, highThreshold: req.high_threshold },
  };
}

function buildMeta(req: ControlNetRequest, plan: GenerationPlan, spec: GenerationSpec, result: GenerationResult) {
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
    mode: result.mode,
    scheduler: spec.scheduler,
    use_karras_sigmas: yn(result.usedKarrasSigmas),
    algorithm_type: result.algorithmType,
    W: spec.width,
    H: spec.height,
    steps: spec.steps,
    denoising_steps: result.stepsRun,
    guidance_scale: spec.guidanceScale,
    strength: result.mode === 'txt2img' ? 1 : spec.strength,
    seed: seedForJson(spec.seed),
    n_samples: spec.samples,
    init_image: imageForMeta(req.init_image),
    control_image: imageForMeta(req.control_image),
    mask_image: imageForMeta(req.mask_image),
    detect_resolution: spec.hint.detectResolution,
    low_threshold: spec.hint.lowThreshold,
    high_threshold: spec.hint.highThreshold,
    clip_skip: 1,
    safety_checker: 'no',
    enhance_prompt: 'no',
    multi_lingual: 'no',
    tomesd: 'no',
    upscale: 'no',
    vae: null,
    lora: null,
    embeddings: null,
    base64: yn(req.base64),
    temp: 'no',
    track_id: req.track_id,
    file_prefix: spec.id,
    execution_providers: result.providers,
  };
}
