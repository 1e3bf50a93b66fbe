/**
 * Helpers of the ᾱ-parameterised schedulers (DDPM, DDIM, PNDM, LCM): ᾱ from the config, the
 * timestep → ᾱ lookup, and their shared forward diffusion `add_noise`.
 */
import { alphasCumprodOf, betasFromConfig, rescaleZeroTerminalSnr, type BetaConfig, type BetaSchedule } from './betas.js';
import { SchedulerError } from './errors.js';

const f32 = Math.fround;

/** ᾱ_t = Π(1 - β), optionally rescaled to zero terminal SNR. */
export function alphasCumprodFromConfig(
  cfg: BetaConfig & { rescale_betas_zero_snr?: boolean },
  className: string,
  allowed: readonly BetaSchedule[],
): Float64Array {
  let betas = betasFromConfig(cfg, className, allowed);
  if (cfg.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
  return alphasCumprodOf(betas);
}

/** ᾱ at an integer timestep, with a clear error instead of an out-of-range read. */
export function alphaAt(alphasCumprod: Float64Array, timestep: number, className: string): number {
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= alphasCumprod.length) {
    throw new SchedulerError(`${className}: timestep ${timestep} is outside 0..${alphasCumprod.length - 1}`);
  }
  return alphasCumprod[timestep];
}

/** sqrt(ᾱ) · x0 + sqrt(1 - ᾱ) · noise, in float32 as diffusers' `add_noise`. */
export function addNoiseWithAlpha(alphaProd: number, original: Float32Array, noise: Float32Array): Float32Array {
  const signal = f32(Math.sqrt(alphaProd));
  const noiseScale = f32(Math.sqrt(f32(1 - alphaProd)));
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(signal * original[i]) + f32(noiseScale * noise[i]);
  return out;
}

/** The x0 estimate and the noise estimate of an ᾱ-parameterised model output, in torch's float32 order. */
export type Prediction = 'epsilon' | 'sample' | 'v_prediction';
