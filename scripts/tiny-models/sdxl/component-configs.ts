/** The diffusers-style JSON files of the tiny SDXL folder (scheduler, model index, VAE config). */
import { vaeConfig } from '../sd/component-configs.js';
import type { SdxlSetConfig } from './config.js';

/** stabilityai/stable-diffusion-xl-base-1.0's scheduler/scheduler_config.json. */
export const SDXL_SCHEDULER_CONFIG = {
  _class_name: 'EulerDiscreteScheduler',
  _diffusers_version: '0.19.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  interpolation_type: 'linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  sample_max_value: 1.0,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: 'leading',
  trained_betas: null,
  use_karras_sigmas: false,
};

const ONNX_MODEL = ['diffusers', 'OnnxRuntimeModel'];

/** model_index.json as optimum writes it for an ONNX SDXL export (plus force_zeros_for_empty_prompt). */
export function sdxlModelIndex(): object {
  return {
    _class_name: 'ORTStableDiffusionXLPipeline',
    _diffusers_version: '0.27.2',
    feature_extractor: [null, null],
    force_zeros_for_empty_prompt: true,
    requires_aesthetics_score: false,
    scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    text_encoder: ONNX_MODEL,
    text_encoder_2: ONNX_MODEL,
    tokenizer: ['transformers', 'CLIPTokenizer'],
    tokenizer_2: ['transformers', 'CLIPTokenizer'],
    unet: ONNX_MODEL,
    vae_decoder: ONNX_MODEL,
    vae_encoder: ONNX_MODEL,
  };
}

/** SDXL's VAE config: scaling 0.13025 and force_upcast (its decoder overflows float16: run it in float32). */
export function sdxlVaeConfig(set: SdxlSetConfig): object {
  return { ...vaeConfig(set), force_upcast: true };
}
