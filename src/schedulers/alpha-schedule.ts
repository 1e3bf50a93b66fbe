/**
 * Helpers of the ᾱ-parameterised schedulers (DDPM, DDIM, PNDM, LCM): ᾱ from the config, the
 * timestep → ᾱ lookup, and their shared forward diffusion `add_noise`.
 */
import { alphasCumprodOf, betasFromConfig, rescaleZeroTerminalSnr, type BetaConfig, type BetaSchedule } from './betas.js';
import { SchedulerError } from './errors.js';
import { noisedVp } from './kernels.js';

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
  return noisedVp(f32(Math.sqrt(alphaProd)), f32(Math.sqrt(f32(1 - alphaProd))), original, noise);
}

export type Prediction = 'epsilon' | 'sample' | 'v_prediction';

/**
 * The x0 estimate (into `x0Out`, clipped to ±`clipRange` when given) and, when `epsOut` is given,
 * the noise estimate of an ᾱ-parameterised model output, in torch's float32 order.
 */
export function predictX0AndEps(
  prediction: Prediction,
  alphaProd: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  clipRange: number | null,
  x0Out: Float32Array,
  epsOut?: Float32Array,
): void {
  const n = sample.length;
  const sqrtAlpha = f32(Math.sqrt(alphaProd));
  const sqrtBeta = f32(Math.sqrt(f32(1 - alphaProd)));
  if (prediction === 'epsilon') {
    for (let i = 0; i < n; i++) x0Out[i] = f32(sample[i] - f32(sqrtBeta * modelOutput[i])) / sqrtAlpha;
    epsOut?.set(modelOutput);
  } else if (prediction === 'sample') {
    x0Out.set(modelOutput);
    if (epsOut) for (let i = 0; i < n; i++) epsOut[i] = f32(sample[i] - f32(sqrtAlpha * modelOutput[i])) / sqrtBeta;
  } else {
    for (let i = 0; i < n; i++) x0Out[i] = f32(sqrtAlpha * sample[i]) - f32(sqrtBeta * modelOutput[i]);
    if (epsOut) for (let i = 0; i < n; i++) epsOut[i] = f32(sqrtAlpha * modelOutput[i]) + f32(sqrtBeta * sample[i]);
  }
  // Clipping x0 after ε was derived matches diffusers (use_clipped_model_output = False).
  if (clipRange !== null) for (let i = 0; i < n; i++) x0Out[i] = Math.min(Math.max(x0Out[i], -clipRange), clipRange);
}
