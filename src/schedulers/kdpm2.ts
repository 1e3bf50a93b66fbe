/**
 * KDPM2DiscreteScheduler: k-diffusion's DPM-Solver-2 (`sample_dpm_2`): a half step to the
 * geometric-mean sigma, a model call there, then the full step with that midpoint slope.
 * The timestep list interleaves the midpoints' (fractional) timesteps.
 */
import { alphasCumprodOf, betasFromConfig } from './betas.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule, repeatAfterFirst } from './k-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import { sigmaToTimestepF32 } from './sigmas.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

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

export class KDPM2DiscreteScheduler extends SchedulerBase {
  readonly name = 'KDPM2DiscreteScheduler';
  override order = 2;
  private readonly cfg: typeof KDPM2_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: 'epsilon' | 'v_prediction';
  override sigmas: Float64Array = new Float64Array(0);
  private sigmasInterpol: Float64Array = new Float64Array(0);
  /** The sample of the first evaluation while the second is pending. */
  private pendingSample = false;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, KDPM2_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['use_exponential_sigmas', 'use_beta_sigmas']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction']);
    this.alphasCumprod = alphasCumprodOf(betasFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']));
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
    this.setTimesteps(cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  get initNoiseSigma(): number {
    return kInitNoiseSigma(this.sigmas, this.cfg.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const schedule = kSchedule({
      alphasCumprod: this.alphasCumprod,
      spacing: this.cfg.timestep_spacing,
      steps: numInferenceSteps,
      stepsOffset: this.cfg.steps_offset,
      karras: this.cfg.use_karras_sigmas,
      roundKarrasTimesteps: true,
    });
    const sigmas = Float64Array.of(...schedule.sigmas, 0).map(f32);
    // Midpoints in log sigma between each sigma and the one before it (σ_{-1} wraps to the final 0).
    const logs = sigmas.map((s) => f32(Math.log(s)));
    const interpol = logs.map((l, i) => f32(Math.exp(lerpHalf(l, logs[(i + logs.length - 1) % logs.length]))));
    this.sigmas = doubledWithLast(sigmas);
    this.sigmasInterpol = doubledWithLast(interpol);
    const midTimesteps = interpol.map((s) => sigmaToTimestepF32(s, schedule.logSigmas));
    this.timesteps = interleaveMidpoints(schedule.timesteps.map(f32), midTimesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.pendingSample = false;
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const index = this.currentStepIndex(timestep);
    const sigma = this.pendingSample ? this.sigmasInterpol[index] : this.sigmas[index];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    const firstOrder = !this.pendingSample;
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const sigma = firstOrder ? this.sigmas[index] : this.sigmas[index - 1];
    const sigmaInterpol = firstOrder ? this.sigmasInterpol[index + 1] : this.sigmasInterpol[index];
    const sigmaNext = firstOrder ? this.sigmas[index + 1] : this.sigmas[index];
    // First evaluation (at σ): Euler to the midpoint. Second (at the midpoint): its slope from the first sample.
    const sigmaEval = firstOrder ? sigma : sigmaInterpol;
    const dt = firstOrder ? f32(sigmaInterpol - sigma) : f32(sigmaNext - sigma);
    const firstSample = this.buffer('firstSample', n);
    const denoised = kDenoise(this.prediction, sigmaEval, modelOutput, sample, this.buffer('denoised', n));
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i];
      const derivative = f32(f32(x - denoised[i]) / sigmaEval);
      const from = firstOrder ? x : firstSample[i];
      if (firstOrder) firstSample[i] = x;
      out[i] = from + f32(derivative * dt);
    }
    this.pendingSample = firstOrder;
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
