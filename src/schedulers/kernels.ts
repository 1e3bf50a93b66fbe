/**
 * The elementwise float32 kernels the schedulers' steps are made of. Each product and partial sum
 * is rounded to float32, in the order torch evaluates diffusers' expressions.
 */
const f32 = Math.fround;

/**
 * out = c[0]·v[0] + c[1]·v[1] + ..., each product and each partial sum rounded to float32, left
 * to right: the shape of every DPM-Solver update (sample, D0, D1, D2, noise).
 */
export function linearCombination(out: Float32Array, coeffs: readonly number[], vectors: readonly Float32Array[]): Float32Array {
  const n = out.length;
  const [c0, c1, c2, c3, c4] = coeffs;
  const [v0, v1, v2, v3, v4] = vectors;
  // Unrolled per term count: one tight loop each, no inner loop over the vectors.
  switch (coeffs.length) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = c0 * v0[i];
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = f32(c0 * v0[i]) + f32(c1 * v1[i]);
      break;
    case 3:
      for (let i = 0; i < n; i++) out[i] = f32(f32(c0 * v0[i]) + f32(c1 * v1[i])) + f32(c2 * v2[i]);
      break;
    case 4:
      for (let i = 0; i < n; i++) {
        out[i] = f32(f32(f32(c0 * v0[i]) + f32(c1 * v1[i])) + f32(c2 * v2[i])) + f32(c3 * v3[i]);
      }
      break;
    case 5:
      for (let i = 0; i < n; i++) {
        out[i] = f32(f32(f32(f32(c0 * v0[i]) + f32(c1 * v1[i])) + f32(c2 * v2[i])) + f32(c3 * v3[i])) + f32(c4 * v4[i]);
      }
      break;
    default:
      throw new RangeError(`linearCombination: ${coeffs.length} terms`);
  }
  return out;
}

/** out = (a - b) · k, in float32: the scaled differences D1 = (m0 - m1) / r of the solvers. */
export function scaledDifference(out: Float32Array, a: Float32Array, b: Float32Array, k: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = k * f32(a[i] - b[i]);
  return out;
}

/** `sample / divisor` into `out` (a division, as torch does, not a multiplication by the inverse). */
export function divideInto(out: Float32Array, sample: Float32Array, divisor: number): Float32Array {
  for (let i = 0; i < sample.length; i++) out[i] = sample[i] / divisor;
  return out;
}

/** original + noise · σ into a new array: the k-samplers' forward diffusion (`add_noise`). */
export function noisedBySigma(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = original[i] + f32(noise[i] * sigma);
  return out;
}

/** α · original + σ · noise into a new array: forward diffusion in the VP parameterisation. */
export function noisedVp(alpha: number, sigma: number, original: Float32Array, noise: Float32Array): Float32Array {
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(alpha * original[i]) + f32(sigma * noise[i]);
  return out;
}

/**
 * The Adams–Bashforth (PLMS) combination of the last 1–4 noise estimates, newest first, into `out`:
 * e1; (3e1 − e2)/2; (23e1 − 16e2 + 5e3)/12; (55e1 − 59e2 + 37e3 − 9e4)/24.
 */
export function adamsBashforth(out: Float32Array, newestFirst: readonly Float32Array[]): Float32Array {
  const n = out.length;
  const [e1, e2, e3, e4] = newestFirst;
  switch (newestFirst.length) {
    case 1:
      out.set(e1);
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = f32(f32(3 * e1[i]) - e2[i]) / 2;
      break;
    case 3:
      for (let i = 0; i < n; i++) out[i] = f32(f32(f32(23 * e1[i]) - f32(16 * e2[i])) + f32(5 * e3[i])) / 12;
      break;
    default: {
      const c = f32(1 / 24);
      for (let i = 0; i < n; i++) out[i] = c * f32(f32(f32(f32(55 * e1[i]) - f32(59 * e2[i])) + f32(37 * e3[i])) - f32(9 * e4[i]));
    }
  }
  return out;
}
