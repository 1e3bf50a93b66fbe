/**
 * Sigma tables of the k-diffusion family: the training sigmas, Karras et al. (2022) sigmas, and the
 * sigma → timestep inversion diffusers uses to give the model a (fractional) timestep for a sigma.
 */
import { numpyLogf } from '../math/numpy-float32.js';
import { numpyLinspace } from './reference-numerics.js';

const f32 = Math.fround;

/** sqrt((1 - ᾱ) / ᾱ) per training timestep, as the float32 tensor diffusers computes. */
export function trainingSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** `np.log` of a float32 table: float32 results, from numpy's SIMD log (not correctly rounded). */
export function logSigmasOf(sigmas: Float64Array): Float64Array {
  return sigmas.map(numpyLogf);
}

/** Karras et al. (2022) eq. 5: `n` sigmas from `sigmaMax` down to `sigmaMin`, evenly spaced in sigma^(1/ρ). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7.0): Float64Array {
  const ramp = numpyLinspace(0, 1, n);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/** Index of the last log-sigma ≤ `logSigma` (0 when none), capped so that index + 1 exists. */
function lowerIndex(logSigma: number, logSigmas: Float64Array): number {
  let count = 0;
  while (count < logSigmas.length && logSigma - logSigmas[count] >= 0) count++;
  return Math.min(Math.max(count - 1, 0), logSigmas.length - 2);
}

/**
 * diffusers' `_sigma_to_t` on a float64 sigma and the float32 log-sigma table (numpy): the
 * interpolation weight is float32 (numpy's scalar-with-array casting), the timestep float64.
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const lo = lowerIndex(f32(logSigma), logSigmas);
  const low = logSigmas[lo];
  const high = logSigmas[lo + 1];
  let w = f32(f32(low - f32(logSigma)) / f32(low - high));
  w = Math.min(Math.max(w, 0), 1);
  return f32(1 - w) * lo + w * (lo + 1);
}

/**
 * The same inversion where diffusers feeds it torch float32 tensors (KDPM2's interpolated sigmas):
 * every operation, the timestep included, is float32.
 */
export function sigmaToTimestepF32(sigma: number, logSigmas: Float64Array): number {
  const logSigma = f32(Math.log(Math.max(sigma, 1e-10)));
  const lo = lowerIndex(logSigma, logSigmas);
  const low = logSigmas[lo];
  const high = logSigmas[lo + 1];
  let w = f32(f32(low - logSigma) / f32(low - high));
  w = Math.min(Math.max(w, 0), 1);
  return f32(f32(f32(1 - w) * lo) + f32(w * (lo + 1)));
}

/** The largest entry of a sigma table. */
export function maxOf(values: Float64Array): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}
