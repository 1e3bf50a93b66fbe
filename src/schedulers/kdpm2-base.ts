/**
 * What KDPM2 and KDPM2 ancestral share (diffusers keeps them as copies): config, the k-diffusion sigma
 * schedule, the doubled sigma/timestep lists with interleaved midpoints, and the two-call step bookkeeping.
 */
import { alphasCumprodOf, betasFromConfig } from './betas.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { noisedBySigma } from './kernels.js';
import { kInitNoiseSigma, kSchedule, repeatAfterFirst } from './k-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

/** Both classes' diffusers defaults (identical). */
export const KDPM2_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
};

/** torch's `a.lerp(b, 0.5)` (computed from `b` when the weight is ≥ 0.5), in float32. */
export function lerpHalf(a: number, b: number): number {
  return f32(b - f32(b - a) * 0.5);
}

/** [v0, v1, v1, ..., vn, vn, vn]: diffusers' `cat([v[:1], v[1:].repeat_interleave(2), v[-1:]])`. */
export function doubledWithLast(values: Float64Array): Float64Array {
  return Float64Array.of(...repeatAfterFirst(values), values[values.length - 1]);
}

/** [t0, a1, t1, a2, t2, ...]: the step timesteps with the midpoints' timesteps `mid[1..]` before each. */
export function interleaveMidpoints(timesteps: Float64Array, mid: ArrayLike<number>): Float64Array {
  const out = new Float64Array(2 * timesteps.length - 1);
  out[0] = timesteps[0];
  for (let i = 1; i < timesteps.length; i++) {
    out[2 * i - 1] = mid[i];
    out[2 * i] = timesteps[i];
  }
  return out;
}

export abstract class Kdpm2Base extends SchedulerBase {
  override order = 2;
  protected readonly cfg: typeof KDPM2_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  protected readonly prediction: 'epsilon' | 'v_prediction';
  override sigmas: Float64Array = new Float64Array(0);
  protected sigmasInterpol: Float64Array = new Float64Array(0);
  /** True between the two model calls of an interval. */
  protected pendingSample = false;

  /** Subclasses call setTimesteps(cfg.num_train_timesteps) after super(), once their own fields exist. */
  constructor(name: string, config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(name, KDPM2_DEFAULTS, config));
    rejectEnabled(name, cfg, ['use_exponential_sigmas', 'use_beta_sigmas']);
    this.prediction = oneOf(name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction']);
    this.alphasCumprod = alphasCumprodOf(betasFromConfig(cfg, name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']));
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
  }

  get initNoiseSigma(): number {
    return kInitNoiseSigma(this.sigmas, this.cfg.timestep_spacing);
  }

  /** The k-diffusion schedule for `steps`, with the final 0 appended to the sigmas (float32). */
  protected schedule(steps: number) {
    this.validateSetTimesteps(steps);
    const schedule = kSchedule({
      alphasCumprod: this.alphasCumprod,
      spacing: this.cfg.timestep_spacing,
      steps,
      stepsOffset: this.cfg.steps_offset,
      karras: this.cfg.use_karras_sigmas,
      roundKarrasTimesteps: true,
    });
    return { schedule, sigmas: Float64Array.of(...schedule.sigmas, 0).map(f32) };
  }

  /** Stores the interleaved timesteps and resets the step state. */
  protected finishTimesteps(steps: number, stepTimesteps: Float64Array, midTimesteps: ArrayLike<number>): void {
    this.timesteps = interleaveMidpoints(stepTimesteps.map(f32), midTimesteps);
    this.numInferenceSteps = steps;
    this.pendingSample = false;
    this.resetStepIndex();
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
