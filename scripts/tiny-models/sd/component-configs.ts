/** The diffusers-style JSON files of a model folder (scheduler, model index, VAE configs). */
import type { ModelSetConfig } from './config.js';
import { SD15_SCHEDULER_CONFIG } from '../../../src/runtime/layouts/sd15-scheduler-config.js';

export { SD15_SCHEDULER_CONFIG };

const ONNX_MODEL = ['diffusers', 'OnnxRuntimeModel'];

/** diffusers' model_index.json of an ONNX Stable Diffusion folder. */
export function modelIndex(): object {
  return {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.6.0',
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', 'PNDMScheduler'],
    text_encoder: ONNX_MODEL,
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ONNX_MODEL,
    vae_decoder: ONNX_MODEL,
    vae_encoder: ONNX_MODEL,
  };
}

/** AutoencoderKL's config; the runtime reads `scaling_factor` from it. */
export function vaeConfig(set: ModelSetConfig): object {
  const { vae } = set;
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.6.0',
    act_fn: 'silu',
    block_out_channels: vae.blockOutChannels,
    in_channels: 3,
    out_channels: 3,
    latent_channels: vae.latentChannels,
    layers_per_block: vae.layersPerBlock,
    norm_num_groups: vae.normNumGroups,
    scaling_factor: vae.scalingFactor,
  };
}

export function jsonFile(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
