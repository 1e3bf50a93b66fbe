/**
 * The DPM-Solver++ update coefficients (Lu et al. 2022, "DPM-Solver++", alg. 1–2 and their SDE
 * variant), shared by the multistep and singlestep schedulers. Each update is a linear
 * combination of the sample, the differences D0, D1 (, D2) of past x0 estimates and, for SDE, noise.
 */
import type { AlphaSigma } from './multistep-schedule.js';
import { torchExpf } from '../math/sleef-float32.js';

const f32 = Math.fround;

export type DpmAlgorithm = 'dpmsolver++' | 'sde-dpmsolver++';
export type DpmSolverType = 'midpoint' | 'heun';

/** Coefficients of [sample, D0] (+ noise for SDE) for the first-order (DDIM-like) update from s to t. */
export function firstOrderCoefficients(algorithm: DpmAlgorithm, t: AlphaSigma, s: AlphaSigma): number[] {
  const h = f32(t.lambda - s.lambda);
  const ratio = f32(t.sigma / s.sigma);
  if (algorithm === 'dpmsolver++') {
    return [ratio, -f32(t.alpha * f32(torchExpf(-h) - 1))];
  }
  const e2 = torchExpf(f32(-2 * h));
  return [f32(ratio * torchExpf(-h)), f32(t.alpha * f32(1 - e2)), f32(t.sigma * f32(Math.sqrt(f32(1 - e2))))];
}

/**
 * Coefficients of [sample, D0, D1] (+ noise) for a second-order update over step h, with
 * D1 = (m0 - m1) / r0 already formed by the caller.
 */
export function secondOrderCoefficients(algorithm: DpmAlgorithm, solverType: DpmSolverType, t: AlphaSigma, s: AlphaSigma, h: number): number[] {
  const ratio = f32(t.sigma / s.sigma);
  if (algorithm === 'dpmsolver++') {
    const c0 = f32(t.alpha * f32(torchExpf(-h) - 1));
    const c1 = solverType === 'midpoint' ? -f32(0.5 * c0) : f32(t.alpha * f32(f32(f32(torchExpf(-h) - 1) / h) + 1));
    return [ratio, -c0, c1];
  }
  const e2 = torchExpf(f32(-2 * h));
  const c0 = f32(t.alpha * f32(1 - e2));
  const c1 = solverType === 'midpoint' ? f32(0.5 * c0) : f32(t.alpha * f32(f32(f32(1 - e2) / f32(-2 * h)) + 1));
  return [f32(ratio * torchExpf(-h)), c0, c1, f32(t.sigma * f32(Math.sqrt(f32(1 - e2))))];
}

/** Coefficients of [sample, D0, D1, D2] (+ noise) for the third-order update (`heun`-type D1, D2 terms). */
export function thirdOrderCoefficients(algorithm: DpmAlgorithm, t: AlphaSigma, s: AlphaSigma, h: number): number[] {
  const ratio = f32(t.sigma / s.sigma);
  if (algorithm === 'dpmsolver++') {
    const e = torchExpf(-h);
    const em1 = f32(e - 1);
    return [ratio, -f32(t.alpha * em1), f32(t.alpha * f32(f32(em1 / h) + 1)), -f32(t.alpha * f32(f32(f32(em1 + h) / f32(h * h)) - 0.5))];
  }
  const e2 = torchExpf(f32(-2 * h));
  const one = f32(1 - e2);
  const twoH = f32(2 * h);
  return [
    f32(ratio * torchExpf(-h)),
    f32(t.alpha * one),
    f32(t.alpha * f32(f32(one / f32(-2 * h)) + 1)),
    f32(t.alpha * f32(f32(f32(one - twoH) / f32(twoH * twoH)) - 0.5)),
    f32(t.sigma * f32(Math.sqrt(one))),
  ];
}
