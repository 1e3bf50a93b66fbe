import { randomInt } from 'node:crypto';
import type { RawImage } from '../image/types.js';
import type { GenerationSpec } from '../domain/index.js';
import type { ModelCatalog } from '../runtime/catalog.js';
import { badRequest } from '../domain/client-error.js';
import { controlNetRequestSchema, describeIssues, type ControlNetRequest } from './contract.js';
import { planGeneration, type GenerationPlan } from './plan.js';

/**
 * A contract body → a GenerationSpec, with no HTTP in it: the controlnet route and the command line
 * (`controlnet-server generate`) both use it, so they validate and build jobs the same way. Only how
 * images are read (URLs and data: URIs on the server; also local paths on the command line) and
 * where ids come from differ; the caller passes those in.
 */

/** Reads one image field; every failure is an ClientError (400) that names the field. */
export type ImageLoader = (field: string, value: string) => Promise<RawImage>;

/** Validates a body (zod, then the models on disk); throws a 400 naming the field. Images are not read yet. */
export function validateRequest(
  raw: Record<string, unknown>,
  catalog: ModelCatalog,
  defaultModel: string | null,
): { req: ControlNetRequest; plan: GenerationPlan } {
  const parsed = controlNetRequestSchema.safeParse(raw);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error));
  return { req: parsed.data, plan: planGeneration(parsed.data, raw, catalog, defaultModel) };
}

/** Reads the request's images (each distinct value once) and assembles the job; the id is taken last. */
export async function buildSpec(
  req: ControlNetRequest,
  plan: GenerationPlan,
  io: { loadImage: ImageLoader; newId: () => Promise<string> | string },
): Promise<GenerationSpec> {
  const cache = new Map<string, Promise<RawImage>>();
  const once = (field: string, value: string) => {
    if (!cache.has(value)) cache.set(value, io.loadImage(field, value));
    return cache.get(value)!;
  };
  const [init, mask, ...controls] = await Promise.all([
    req.init_image ? once('init_image', req.init_image) : null,
    req.mask_image ? once('mask_image', req.mask_image) : null,
    ...plan.units.map((u) => once(u.imageField, u.imageValue)),
  ]);
  return {
    id: await io.newId(),
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
    negativePrompt: req.negative_prompt,
    initImage: init,
    maskImage: mask,
    strength: req.strength,
    width: plan.width,
    height: plan.height,
    samples: req.samples,
    steps: req.num_inference_steps,
    guidanceScale: req.guidance_scale,
    clipSkip: req.clip_skip,
    scheduler: req.scheduler ?? 'UniPCMultistepScheduler',
    useKarrasSigmas: plan.useKarrasSigmas,
    algorithmType: plan.algorithmType,
    seed: req.seed ?? BigInt(randomInt(0, 2 ** 32)),
    hint: { detectResolution: req.detect_resolution, lowThreshold: req.low_threshold, highThreshold: req.high_threshold },
    upscale: plan.upscale,
    safetyChecker: plan.safetyChecker,
  };
}

/** Seeds past 2^53 are echoed as strings so JSON clients do not round them. */
const seedForJson = (seed: bigint) => (seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString());

/** How an image field is echoed in meta: URLs as given, inline data as a marker (never the blob). */
export const imageForMeta = (value: string | null): string | null => (value === null ? null : /^https?:\/\//i.test(value) ? value : 'base64');

/** meta as the request defines it; the worker adds what only the run knows (resultMeta). */
export function requestMeta(
  req: ControlNetRequest,
  plan: GenerationPlan,
  spec: GenerationSpec,
  describeImage: (value: string | null) => string | null = imageForMeta,
): Record<string, unknown> {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const scales = spec.controlnets.map((u) => u.conditioningScale);
  return {
    prompt: spec.prompt,
    negative_prompt: spec.negativePrompt ?? '',
    model_id: req.model_id ?? plan.model.id,
    model: plan.model.id,
    family: plan.family,
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
    init_image: describeImage(req.init_image),
    control_image: describeImage(req.control_image),
    mask_image: describeImage(req.mask_image),
    detect_resolution: spec.hint.detectResolution,
    low_threshold: spec.hint.lowThreshold,
    high_threshold: spec.hint.highThreshold,
    clip_skip: spec.clipSkip ?? 1,
    safety_checker: yn(spec.safetyChecker != null),
    enhance_prompt: 'no',
    multi_lingual: 'no',
    tomesd: 'no',
    upscale: spec.upscale ? String(spec.upscale.factor) : 'no',
    vae: plan.vae,
    lora: plan.model.loras?.map((l) => l.name).join(',') ?? null,
    lora_model: plan.model.loras?.map((l) => l.name).join(',') ?? null,
    lora_strength: plan.model.loras?.map((l) => l.strength).join(',') ?? null,
    embeddings: plan.model.embeddings?.map((e) => e.name).join(',') ?? null,
    embeddings_model: plan.model.embeddings?.map((e) => e.name).join(',') ?? null,
    /** Each embedding's trigger word and vector count, as added to the tokenizer(s). */
    embeddings_trigger_words: plan.model.embeddings
      ? Object.fromEntries(plan.model.embeddings.map((e) => [e.name, { trigger: e.trigger, vectors: e.vectors }]))
      : null,
    base64: yn(req.base64),
    temp: yn(req.temp),
    webhook: req.webhook,
    track_id: req.track_id,
    file_prefix: spec.id,
  };
}
