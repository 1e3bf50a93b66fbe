import { HINT_TYPES } from '../preprocessors/registry.js';
import { SCHEDULER_NAMES, schedulerInfo } from '../schedulers/registry.js';
import type { ModelCatalog } from '../runtime/catalog.js';
import { FAMILY_DEFAULT_SIDE, familyOfFiles, type BaseModelFiles, type SafetyCheckerSettings, type UpscaleSettings } from '../domain/index.js';
import { badRequest } from '../domain/client-error.js';
import { SAFETY_CHECKER_DIR } from '../runtime/safety-checkers.js';
import { pickUpscaler, UPSCALERS_DIR } from '../runtime/upscalers.js';
import { LIMITS, type ControlNetRequest } from './contract.js';
import { planLoras } from './lora-plan.js';
import { planEmbeddings } from './embeddings-plan.js';

/** The contract's fields of a request, resolved against the models on disk; images still unloaded. */
export interface GenerationPlan {
  model: BaseModelFiles;
  units: { name: string; type: string; modelPath: string; conditioningScale: number; imageField: string; imageValue: string }[];
  useKarrasSigmas: boolean;
  algorithmType: string | null;
  /** The custom VAE in use (request `vae`), or null for the model's own. */
  vae: string | null;
  /** The model family ("sd", "sdxl"): meta.family. */
  family: 'sd' | 'sdxl';
  /** The request's size, or the family's default (SD 512², SDXL 1024²) for a side it did not send. */
  width: number;
  height: number;
  /** The upscaler and factor for `upscale`, or null. */
  upscale: UpscaleSettings | null;
  /** The safety checker for `safety_checker: "yes"`, or null. */
  safetyChecker: SafetyCheckerSettings | null;
  warnings: string[];
}

const ALGORITHM_TYPES = ['dpmsolver++', 'sde-dpmsolver++', 'dpmsolver+++'];
const DPM_MULTISTEP = 'DPMSolverMultistepScheduler';
const KNOWN_FIELDS = new Set([
  'key',
  'model_id',
  'controlnet_model',
  'controlnet_type',
  'auto_hint',
  'guess_mode',
  'prompt',
  'negative_prompt',
  'init_image',
  'control_image',
  'mask_image',
  'control_images',
  'width',
  'height',
  'samples',
  'num_inference_steps',
  'scheduler',
  'use_karras_sigmas',
  'algorithm_type',
  'guidance_scale',
  'strength',
  'controlnet_conditioning_scale',
  'seed',
  'clip_skip',
  'base64',
  'temp',
  'webhook',
  'track_id',
  'detect_resolution',
  'low_threshold',
  'high_threshold',
  'safety_checker',
  'enhance_prompt',
  'multi_lingual',
  'tomesd',
  'upscale',
  'vae',
  'lora_model',
  'lora_strength',
  'embeddings_model',
  'ip_adapter_id',
  'ip_adapter_scale',
  'ip_adapter_image',
  'instant_response',
]);

const sent = (raw: Record<string, unknown>, field: string) =>
  raw[field] !== undefined && raw[field] !== null && !(typeof raw[field] === 'string' && (raw[field] as string).trim() === '');

const list = (values: Iterable<string>) => [...values].join(', ') || '(none installed)';
const split = (s: string | null) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const explicitlyYes = (raw: Record<string, unknown>, field: string) =>
  ['yes', 'true', '1', true].includes(typeof raw[field] === 'string' ? (raw[field] as string).trim().toLowerCase() : (raw[field] as never));

export function resolveModelId(catalog: ModelCatalog, requested: string | null, defaultModel: string | null, warnings: string[] = []): BaseModelFiles {
  const id = requested ?? defaultModel ?? catalog.models.keys().next().value ?? null;
  const model = id === null ? undefined : catalog.models.get(catalog.aliases.get(id) ?? id);
  if (!model) {
    throw badRequest(
      id === null
        ? 'model_id: no model is installed on this server (see README "Models")'
        : `model_id: unknown model "${id}"; available: ${list([...catalog.models.keys(), ...catalog.aliases.keys()])}`,
    );
  }
  const alias = id === null ? undefined : catalog.aliases.get(id);
  if (alias) warnings.push(`model_id: "${id}" is an alias of "${alias}" (models/aliases.json)`);
  return model;
}

/**
 * Checks everything about a request that can be checked without its images, so a bad request is
 * answered at once (and never occupies the queue).
 */
export function planGeneration(req: ControlNetRequest, raw: Record<string, unknown>, catalog: ModelCatalog, defaultModel: string | null): GenerationPlan {
  const warnings: string[] = [];
  rejectMissingFeatures(req);

  let model = resolveModelId(catalog, req.model_id, defaultModel, warnings);
  if (req.vae) {
    const vae = catalog.vaes.get(req.vae);
    if (!vae) throw badRequest(`vae: unknown VAE "${req.vae}"; available: ${list(catalog.vaes.keys())} (add one with load_vae)`);
    model = {
      ...model,
      vaeDecoder: vae.decoder,
      vaeEncoder: vae.encoder ?? model.vaeEncoder,
      vaeScalingFactor: vae.scalingFactor ?? model.vaeScalingFactor,
    };
  }
  const loras = planLoras(req.lora_model, req.lora_strength, catalog);
  if (loras.length > 0) model = { ...model, loras };
  const embeddings = planEmbeddings(req.embeddings_model, model, catalog, req.prompt ?? '', req.negative_prompt, warnings);
  if (embeddings.length > 0) model = { ...model, embeddings };
  if (req.webhook && !/^https?:\/\/[^\s]+$/i.test(req.webhook)) {
    throw badRequest(`webhook: must be an http(s) URL, got "${req.webhook.slice(0, 80)}"`);
  }
  const available = catalog.controlnets.get(model.id) ?? new Map<string, string>();
  const names = split(req.controlnet_model);
  if (names.length === 0) {
    throw badRequest(`controlnet_model: required; one or more (comma-separated) of: ${list(available.keys())}`);
  }
  if (names.length > LIMITS.maxControlNets) {
    throw badRequest(`controlnet_model: at most ${LIMITS.maxControlNets} ControlNets per request, got ${names.length}`);
  }
  const types = split(req.controlnet_type);
  if (types.length > names.length) {
    throw badRequest(`controlnet_type: ${types.length} types given for ${names.length} ControlNet(s)`);
  }
  const scales = req.controlnet_conditioning_scale ?? [1];
  if (scales.length !== 1 && scales.length !== names.length) {
    throw badRequest(`controlnet_conditioning_scale: give one value, or one per ControlNet (${names.length}), got ${scales.length}`);
  }
  if (req.control_images && req.control_images.length !== names.length) {
    throw badRequest(`control_images: give one image per ControlNet (${names.length}), got ${req.control_images.length}`);
  }

  const units = names.map((name, k) => {
    const modelPath = available.get(name);
    if (!modelPath) {
      throw badRequest(`controlnet_model: unknown ControlNet "${name}" for model "${model.id}"; available: ${list(available.keys())}`);
    }
    const type = unitType(types, k, name, req.auto_hint);
    const [imageField, imageValue] = req.control_images
      ? [`control_images[${k}]`, req.control_images[k]]
      : req.control_image
        ? ['control_image', req.control_image]
        : ['init_image', req.init_image];
    if (!imageValue) {
      throw badRequest(`init_image: required (or control_image): ControlNet "${name}" needs an image to follow`);
    }
    if (req.auto_hint && type === 'inpaint' && !req.mask_image) {
      throw badRequest('mask_image: required for the inpaint hint (controlnet_type "inpaint" with auto_hint "yes")');
    }
    return { name, type, modelPath, conditioningScale: scales.length === 1 ? scales[0] : scales[k], imageField, imageValue };
  });

  if (req.mask_image && !req.init_image) throw badRequest('init_image: required with mask_image (the image to inpaint)');
  const partial = req.mask_image || (req.init_image && req.strength < 1);
  if (partial && Math.floor(req.num_inference_steps * req.strength) < 1) {
    throw badRequest(
      `strength: ${req.strength} × num_inference_steps ${req.num_inference_steps} leaves no denoising step; raise strength or num_inference_steps`,
    );
  }

  const scheduler = req.scheduler ?? 'UniPCMultistepScheduler';
  if (!SCHEDULER_NAMES.includes(scheduler)) {
    throw badRequest(`scheduler: unknown scheduler "${scheduler}"; one of: ${SCHEDULER_NAMES.join(', ')}`);
  }
  const info = schedulerInfo(scheduler);
  if (!info.usableForGeneration) throw badRequest(`scheduler: ${scheduler} cannot be used for generation: ${info.reason}`);

  let algorithmType: string | null = null;
  if (req.algorithm_type !== null) {
    if (!ALGORITHM_TYPES.includes(req.algorithm_type)) {
      throw badRequest(`algorithm_type: unknown value "${req.algorithm_type}"; one of: ${ALGORITHM_TYPES.join(', ')}`);
    }
    if (scheduler === DPM_MULTISTEP) algorithmType = req.algorithm_type;
    else warnings.push(`algorithm_type: applies only to ${DPM_MULTISTEP}; not used with ${scheduler}`);
  }
  const useKarrasSigmas = req.use_karras_sigmas && info.supportsKarrasSigmas;
  if (req.use_karras_sigmas && !info.supportsKarrasSigmas && explicitlyYes(raw, 'use_karras_sigmas')) {
    warnings.push(`use_karras_sigmas: ${scheduler} has no Karras sigmas; not used`);
  }

  if (!req.init_image && req.strength < 1) {
    warnings.push('strength: applies only with init_image (img2img) or mask_image (inpaint); not used');
  }
  if (req.enhance_prompt) warnings.push('enhance_prompt: this server has no prompt enhancer; the prompt was used as given');
  if (req.multi_lingual) warnings.push('multi_lingual: this server has no translator; the prompt was used as given');
  if (req.tomesd) warnings.push('tomesd: token merging is not implemented; generation ran without it');
  const unknown = Object.keys(raw).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length > 0) warnings.push(`ignored unknown field(s): ${unknown.join(', ')}`);

  const family = familyOfFiles(model);
  const width = sent(raw, 'width') ? req.width : FAMILY_DEFAULT_SIDE[family];
  const height = sent(raw, 'height') ? req.height : FAMILY_DEFAULT_SIDE[family];
  return {
    model,
    units,
    useKarrasSigmas,
    algorithmType,
    vae: req.vae,
    family,
    width,
    height,
    upscale: planUpscale(req.upscale, catalog),
    safetyChecker: req.safety_checker ? planSafetyChecker(model.id, catalog) : null,
    warnings,
  };
}

/** The model's own checker, else the shared one; a 400 naming both folders when neither is installed. */
export function planSafetyChecker(modelId: string, catalog: ModelCatalog): SafetyCheckerSettings {
  const found = catalog.safetyCheckers?.own.get(modelId) ?? catalog.safetyCheckers?.shared;
  if (found) return { modelPath: found.model, conceptsPath: found.concepts };
  throw badRequest(
    `safety_checker: no safety checker is installed; export one with scripts/export_onnx.py --safety-checker to ${SAFETY_CHECKER_DIR}/ (model.onnx + concepts.json) or ${modelId || '<model_id>'}/${SAFETY_CHECKER_DIR}/ in the models folder, or send "no"`,
  );
}

/** `upscale` → the installed network that gives the factor; a 400 naming the folder when there is none. */
function planUpscale(factor: number | null, catalog: ModelCatalog): UpscaleSettings | null {
  if (factor === null) return null;
  const upscalers = catalog.upscalers ?? new Map();
  const picked = pickUpscaler(upscalers, factor);
  if (picked) return { name: picked.name, modelPath: picked.model, factor };
  if (upscalers.size === 0) {
    throw badRequest(
      `upscale: no upscaler is installed; put an ONNX super-resolution model (Real-ESRGAN family) at ${UPSCALERS_DIR}/<name>/model.onnx in the models folder (docs/upscalers.md), or send "no"`,
    );
  }
  const scales = [...upscalers.values()].map((u) => `${u.name} ${u.scale}×`).join(', ');
  throw badRequest(`upscale: no installed upscaler gives ${factor}× (installed: ${scales}); send a smaller factor or install one under ${UPSCALERS_DIR}/`);
}

/**
 * The hint type of ControlNet k: its own entry of `controlnet_type`, the one entry when a single type
 * is given for several ControlNets, else the ControlNet's name when that is a type. With `auto_hint`
 * "no" the image is the hint and no type is needed: an untyped ControlNet is then "none".
 */
function unitType(types: string[], k: number, name: string, autoHint: boolean): string {
  const given = types.length === 1 ? types[0] : types[k];
  if (given !== undefined && !HINT_TYPES.includes(given)) {
    throw badRequest(`controlnet_type: unknown controlnet_type "${given}"; one of: ${HINT_TYPES.join(', ')}`);
  }
  const type = given ?? (HINT_TYPES.includes(name) ? name : undefined);
  if (type) return type;
  if (!autoHint) return 'none';
  throw badRequest(`controlnet_type: give a controlnet_type for ControlNet "${name}" (auto_hint "yes" computes its hint); one of: ${HINT_TYPES.join(', ')}`);
}

/** Features of the hosted API this server does not have: refused by name rather than silently skipped. */
function rejectMissingFeatures(req: ControlNetRequest) {
  const refuse = (field: string, why: string) => {
    throw badRequest(`${field}: ${why}`);
  };
  if (req.ip_adapter_id || req.ip_adapter_image) refuse('ip_adapter_id', 'IP-Adapter is not supported by this server');
}
