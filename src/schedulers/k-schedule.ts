/**
 * The sigma schedule shared by the k-diffusion samplers (Euler, Euler a, LMS, Heun, KDPM2, KDPM2 a):
 * spaced timesteps, the training sigmas interpolated at them, optionally replaced by Karras sigmas.
 */
import { interpAtIndex, roundHalfEven } from './reference-numerics.js';
import { karrasSigmas, logSigmasOf, maxOf, sigmaToTimestep, trainingSigmas } from './sigmas.js';
import { spacedTimesteps } from './timesteps.js';

const f32 = Math.fround;

export interface KScheduleParams {
  alphasCumprod: Float64Array;
  spacing: string;
  steps: number;
  stepsOffset: number;
  karras: boolean;
  /** Karras range overrides (EulerDiscreteScheduler's sigma_min / sigma_max config). */
  sigmaMin?: number | null;
  sigmaMax?: number | null;
  /** KDPM2 rounds the timesteps it derives from Karras sigmas. */
  roundKarrasTimesteps?: boolean;
}

export interface KSchedule {
  /** Float64 timesteps (float32 rounding is the caller's, as its dtype requires). */
  timesteps: Float64Array;
  /** Float64 sigmas, one per timestep, without the final sigma. */
  sigmas: Float64Array;
  /** The float32 log training sigmas (for later sigma → timestep inversions). */
  logSigmas: Float64Array;
}

export function kSchedule(p: KScheduleParams): KSchedule {
  const table = trainingSigmas(p.alphasCumprod);
  const logSigmas = logSigmasOf(table);
  // numpy builds these timesteps as float32.
  let timesteps: Float64Array = spacedTimesteps({
    spacing: p.spacing,
    numTrainTimesteps: p.alphasCumprod.length,
    steps: p.steps,
    stepsOffset: p.stepsOffset,
    roundLinspace: false,
  }).map(f32);
  let sigmas: Float64Array = timesteps.map((t) => interpAtIndex(t, table));
  if (p.karras) {
    const sigmaMin = p.sigmaMin ?? sigmas[sigmas.length - 1];
    const sigmaMax = p.sigmaMax ?? sigmas[0];
    sigmas = karrasSigmas(sigmaMin, sigmaMax, p.steps);
    timesteps = sigmas.map((s) => sigmaToTimestep(s, logSigmas));
    if (p.roundKarrasTimesteps) timesteps = timesteps.map(roundHalfEven);
  }
  return { timesteps, sigmas, logSigmas };
}

/** diffusers' `init_noise_sigma` of the k-samplers: σ_max, or sqrt(σ_max² + 1) for `leading` spacing. */
export function kInitNoiseSigma(sigmas: Float64Array, spacing: string): number {
  const max = maxOf(sigmas);
  if (spacing === 'linspace' || spacing === 'trailing') return max;
  return f32(Math.sqrt(f32(f32(max * max) + 1)));
}

/** The sigma with which diffusers scales the model input: sample / sqrt(σ² + 1), in float32. */
export function inputScaleDivisor(sigma: number): number {
  return f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
}

/** [a, b, c] → [a, b, b, c, c] (torch's `cat([v[:1], v[1:].repeat_interleave(2)])`): the second-order lists. */
export function repeatAfterFirst(values: Float64Array): Float64Array {
  const out = new Float64Array(Math.max(2 * values.length - 1, 0));
  if (values.length > 0) out[0] = values[0];
  for (let i = 1; i < values.length; i++) out[2 * i - 1] = out[2 * i] = values[i];
  return out;
}

export type KPrediction = 'epsilon' | 'v_prediction' | 'sample';

/**
 * The k-samplers' x0 estimate at noise level σ, into `out`, in torch's float32 order:
 * ε: x - σ·ε; v: v·(-σ/sqrt(σ²+1)) + x/(σ²+1); sample: the output itself. `clip` bounds |x0|.
 */
export function kDenoise(
  prediction: KPrediction,
  sigma: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  out: Float32Array,
  clip: number | null = null,
): Float32Array {
  const n = sample.length;
  if (prediction === 'epsilon') {
    for (let i = 0; i < n; i++) out[i] = sample[i] - f32(sigma * modelOutput[i]);
  } else if (prediction === 'v_prediction') {
    const vScale = f32(-sigma / inputScaleDivisor(sigma));
    const sampleScale = f32(f32(sigma * sigma) + 1);
    for (let i = 0; i < n; i++) out[i] = f32(modelOutput[i] * vScale) + f32(sample[i] / sampleScale);
  } else {
    out.set(modelOutput);
  }
  if (clip !== null) for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(out[i], -clip), clip);
  return out;
}
