import { z } from 'zod';
import { imageListField, intField, numberField, numberListField, seedField, textField, upscaleField, yesNoField } from './fields.js';

/** Limits of the hosted contract (its docs) that this server enforces. */
export const LIMITS = {
  maxSide: 1024,
  minSide: 64,
  maxSamples: 4,
  maxSteps: 50,
  guidance: [1, 20],
  clipSkip: [1, 8],
  conditioningScale: [0, 20],
  maxControlNets: 4,
} as const;

/**
 * `POST /api/v1/enterprise/controlnet`: every field of the hosted contract, plus a few documented
 * extensions (`control_images`, `detect_resolution`, `low_threshold`, `high_threshold`).
 * Unknown fields are kept so the route can report them as ignored instead of silently dropping them.
 */
export const controlNetRequestSchema = z
  .object({
    key: textField('key', null, 512),
    model_id: textField('model_id', null, 200),
    controlnet_model: textField('controlnet_model', null, 1000),
    controlnet_type: textField('controlnet_type', null, 1000),
    auto_hint: yesNoField('auto_hint', false),
    guess_mode: yesNoField('guess_mode', false),
    prompt: textField('prompt', ''),
    negative_prompt: textField('negative_prompt', null),
    init_image: textField('init_image', null, 40_000_000),
    control_image: textField('control_image', null, 40_000_000),
    mask_image: textField('mask_image', null, 40_000_000),
    control_images: imageListField('control_images', LIMITS.maxControlNets),
    width: intField('width', LIMITS.minSide, LIMITS.maxSide, 512, { multipleOf: 8 }),
    height: intField('height', LIMITS.minSide, LIMITS.maxSide, 512, { multipleOf: 8 }),
    samples: intField('samples', 1, LIMITS.maxSamples, 1),
    num_inference_steps: intField('num_inference_steps', 1, LIMITS.maxSteps, 30),
    scheduler: textField('scheduler', 'UniPCMultistepScheduler', 100),
    use_karras_sigmas: yesNoField('use_karras_sigmas', true),
    algorithm_type: textField('algorithm_type', null, 100),
    guidance_scale: numberField('guidance_scale', LIMITS.guidance[0], LIMITS.guidance[1], 7.5),
    strength: numberField('strength', 0, 1, 1),
    controlnet_conditioning_scale: numberListField('controlnet_conditioning_scale', LIMITS.conditioningScale[0], LIMITS.conditioningScale[1]),
    seed: seedField('seed'),
    clip_skip: intField('clip_skip', LIMITS.clipSkip[0], LIMITS.clipSkip[1], 1),
    base64: yesNoField('base64', false),
    temp: yesNoField('temp', false),
    webhook: textField('webhook', null, 2048),
    // Answer "processing" at once instead of waiting for the result (fetch it, or get the webhook).
    instant_response: yesNoField('instant_response', false),
    track_id: z
      .union([z.string(), z.number(), z.null()])
      .optional()
      .transform((v) => v ?? null),
    // Hint preprocessing (extension; controlnet_aux defaults when absent).
    detect_resolution: intField('detect_resolution', 64, 2048, 512),
    low_threshold: intField('low_threshold', 1, 255, 100),
    high_threshold: intField('high_threshold', 1, 255, 200),
    // Features of the hosted API that this server does not have: accepted here, then either
    // rejected or reported in `warnings` by the route (never silently pretended).
    safety_checker: yesNoField('safety_checker', false),
    // Super-resolution after decode with an installed upscaler: the factor, or null.
    upscale: upscaleField('upscale'),
    enhance_prompt: yesNoField('enhance_prompt', false),
    multi_lingual: yesNoField('multi_lingual', false),
    tomesd: yesNoField('tomesd', false),
    vae: textField('vae', null, 200),
    lora_model: textField('lora_model', null, 1000),
    lora_strength: textField('lora_strength', null, 200),
    embeddings_model: textField('embeddings_model', null, 1000),
    ip_adapter_id: textField('ip_adapter_id', null, 200),
    ip_adapter_scale: textField('ip_adapter_scale', null, 200),
    ip_adapter_image: textField('ip_adapter_image', null, 40_000_000),
  })
  .loose();

export type ControlNetRequest = z.output<typeof controlNetRequestSchema>;

/** Turns zod issues into one client-facing sentence per field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join('.') || 'body';
      return issue.message.startsWith(`${field}:`) ? issue.message : `${field}: ${issue.message}`;
    })
    .join('; ');
}
