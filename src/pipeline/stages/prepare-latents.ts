/**
 * Stage: the initial latents, drawing from the job's seeded generator in diffusers' order — txt2img: noise ×
 * init sigma; img2img: the VAE-encoded image noised to the first timestep; inpaint: that (or pure noise at strength
 * 1), plus the mask that keeps the known region after each step.
 */
import type * as ort from 'onnxruntime-node';
import type { GenerationMode, GenerationSpec } from '../../domain/index.js';
import { resizeRgb } from '../../image/codec.js';
import type { RawImage } from '../../image/types.js';
import type { TorchGenerator } from '../../math/torch-generator.js';
import { floatTensor, toFloat32 } from '../../runtime/tensors.js';
import type { VaeSignature } from '../../runtime/signatures.js';
import type { Scheduler } from '../../schedulers/types.js';
import { blendMasked, repeatBatch } from '../../tensor/ops.js';
import { GenerationError } from '../errors.js';
import { binaryMask, latentMask, vaeInputTensor } from '../image-tensors.js';
import type { ModelDescription } from '../model-description.js';
import type { Loaded } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';
import type { LatentGrid } from './latent-grid.js';

export interface PreparedLatents {
  /** [samples, C, h, w]; the loop steps it in place. */
  latents: Float32Array;
  /** Inpaint: puts the known region back, noised to the next timestep (null after the last step). */
  afterStep: ((latents: Float32Array, scheduler: Scheduler, nextTimestep: number | null) => void) | null;
}

export interface LatentSources {
  spec: GenerationSpec;
  mode: GenerationMode;
  description: ModelDescription;
  grid: LatentGrid;
  generator: TorchGenerator;
  scheduler: Scheduler;
  firstTimestep: number;
  /** Needed for img2img and inpaint. */
  vaeEncoder: Loaded<VaeSignature> | null;
  runner: SessionRunner;
}

export async function prepareLatents(s: LatentSources): Promise<PreparedLatents> {
  const { spec, mode, grid, generator, scheduler } = s;
  const n = spec.samples;
  const size = grid.size;
  if (mode === 'txt2img') {
    const latents = generator.randn(n * size);
    const sigma = scheduler.initNoiseSigma;
    if (sigma !== 1) for (let i = 0; i < latents.length; i++) latents[i] *= sigma;
    return { latents, afterStep: null };
  }
  const init = await resizeRgb(spec.initImage!, spec.width, spec.height);
  const known = repeatBatch(await encodeImage(s.vaeEncoder!, init, s), n);
  const noise = generator.randn(n * size);
  let latents: Float32Array;
  if (mode === 'img2img' || spec.strength < 1) {
    latents = scheduler.addNoise(known, noise, s.firstTimestep);
  } else {
    latents = new Float32Array(noise.length);
    for (let i = 0; i < latents.length; i++) latents[i] = noise[i]! * scheduler.initNoiseSigma;
  }
  if (mode !== 'inpaint') return { latents, afterStep: null };
  const maskImage = await resizeRgb(spec.maskImage!, spec.width, spec.height);
  const mask = latentMask(binaryMask(maskImage), spec.width, spec.height, grid.width, grid.height);
  // diffusers encodes the masked image here too (for 9-channel UNets); a UNet on the latents alone does not use
  // it, but the draw it makes from the generator is kept so later noise matches.
  generator.randn(size);
  const channels = s.description.latentChannels;
  return {
    latents,
    afterStep: (current, sched, next) => blendMasked(current, next === null ? known : sched.addNoise(known, noise, next), mask, channels),
  };
}

/**
 * VAE-encodes one image to scaled latents [C, h, w]. Encoders that output the posterior's mean and log-variance
 * (2C channels) are sampled with the job's generator, as diffusers' `retrieve_latents` does; those that output a
 * sample already still consume the same draw, so later noise matches.
 */
async function encodeImage(encoder: Loaded<VaeSignature>, image: RawImage, s: LatentSources): Promise<Float32Array> {
  const sig = encoder.signature;
  const input = floatTensor(sig.floatType, vaeInputTensor(image), [1, 3, image.height, image.width]);
  const out = (await s.runner.run('vae_encoder', encoder.session, { [sig.input.name]: input }))[sig.output.name] as ort.Tensor;
  const params = toFloat32(out);
  const channels = s.description.latentChannels;
  const size = s.grid.size;
  const draw = s.generator.randn(size);
  const latents = new Float32Array(size);
  const scale = s.description.scalingFactor;
  if (out.dims[1] === 2 * channels) {
    for (let i = 0; i < size; i++) {
      const logvar = Math.min(20, Math.max(-30, params[size + i]!));
      latents[i] = (params[i]! + Math.exp(0.5 * logvar) * draw[i]!) * scale;
    }
  } else if (out.dims[1] === channels) {
    for (let i = 0; i < size; i++) latents[i] = params[i]! * scale;
  } else {
    throw new GenerationError(`vae_encoder output has ${out.dims[1]} channels; expected ${channels} or ${2 * channels}`);
  }
  return latents;
}
