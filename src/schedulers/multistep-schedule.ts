/**
 * Schedules and σ-space quantities shared by the multistep solvers (DPM-Solver(++), UniPC, DEIS):
 * sigmas at the spaced timesteps or Karras sigmas over the whole training range, and the
 * α_t, σ_t, λ_t = log(α_t / σ_t) of a sigma, all in float32 as diffusers computes them.
 */
import { interpAtIndex, roundHalfEven } from './reference-numerics.js';
import { karrasSigmas, logSigmasOf, sigmaToTimestep, trainingSigmas } from './sigmas.js';
import { torchLogf } from '../math/sleef-float32.js';

const f32 = Math.fround;

export interface MultistepSchedule {
  timesteps: Float64Array;
  /** One float64 sigma per timestep (the final sigma is the caller's). */
  sigmas: Float64Array;
}

/**
 * Sigmas for the given timesteps; with `karras`, Karras sigmas over the full training range
 * replace them and the timesteps become those sigmas' (optionally rounded) timesteps.
 */
export function multistepSchedule(alphasCumprod: Float64Array, timesteps: Float64Array, karras: boolean, roundKarrasTimesteps = true): MultistepSchedule {
  const table = trainingSigmas(alphasCumprod);
  if (!karras) return { timesteps, sigmas: timesteps.map((t) => interpAtIndex(t, table)) };
  const logSigmas = logSigmasOf(table);
  const sigmas = karrasSigmas(table[0], table[table.length - 1], timesteps.length);
  let karrasTimesteps = sigmas.map((s) => sigmaToTimestep(s, logSigmas));
  if (roundKarrasTimesteps) karrasTimesteps = karrasTimesteps.map(roundHalfEven);
  return { timesteps: karrasTimesteps, sigmas };
}

/** The smallest training sigma, sqrt((1 - ᾱ_0) / ᾱ_0): the final sigma of `final_sigmas_type: sigma_min`. */
export function sigmaMinOf(alphasCumprod: Float64Array): number {
  return f32(Math.sqrt(f32(f32(1 - alphasCumprod[0]) / alphasCumprod[0])));
}

/** α_t and σ_t of the VP process at noise level σ: α = 1 / sqrt(σ² + 1), σ_t = σ·α. */
export interface AlphaSigma {
  alpha: number;
  sigma: number;
  lambda: number;
}

export function alphaSigma(sigma: number): AlphaSigma {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const sigmaT = f32(sigma * alpha);
  return { alpha, sigma: sigmaT, lambda: f32(torchLogf(alpha) - torchLogf(sigmaT)) };
}

/** torch's searchsorted (left) of λ_min_clipped in the ascending flipped λ table: how many steps to clip. */
export function clippedSteps(alphasCumprod: Float64Array, lambdaMinClipped: number): number {
  let count = 0;
  for (let i = alphasCumprod.length - 1; i >= 0; i--) {
    const { lambda } = lambdaOfAlpha(alphasCumprod[i]);
    if (lambda >= lambdaMinClipped) break;
    count++;
  }
  return count;
}

/** λ from ᾱ directly (diffusers' `lambda_t` table). */
function lambdaOfAlpha(alphaProd: number): { lambda: number } {
  const alpha = f32(Math.sqrt(alphaProd));
  const sigma = f32(Math.sqrt(f32(1 - alphaProd)));
  return { lambda: f32(torchLogf(alpha) - torchLogf(sigma)) };
}

/** x0 from a model output in the dpmsolver++ / UniPC / DEIS parameterisation (float32 order). */
export function convertToX0(prediction: string, a: AlphaSigma, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): Float32Array {
  const n = sample.length;
  if (prediction === 'epsilon') {
    for (let i = 0; i < n; i++) out[i] = f32(sample[i] - f32(a.sigma * modelOutput[i])) / a.alpha;
  } else if (prediction === 'v_prediction') {
    for (let i = 0; i < n; i++) out[i] = f32(a.alpha * sample[i]) - f32(a.sigma * modelOutput[i]);
  } else {
    out.set(modelOutput);
  }
  return out;
}
