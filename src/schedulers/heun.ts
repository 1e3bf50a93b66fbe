/**
 * HeunDiscreteScheduler: Heun's second-order method (Karras et al. 2022, alg. 1). Each interval takes
 * two model calls, so the timestep list repeats every timestep but the first.
 */
import { alphasCumprodOf, betasFromConfig } from './betas.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule, repeatAfterFirst, type KPrediction } from './k-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const HEUN_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  prediction_type: 'epsilon',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  clip_sample: false,
  clip_sample_range: 1.0,
  timestep_spacing: 'linspace',
  steps_offset: 0,
};

export class HeunDiscreteScheduler extends SchedulerBase {
  readonly name = 'HeunDiscreteScheduler';
  override order = 2;
  private readonly cfg: typeof HEUN_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: KPrediction;
  override sigmas: Float64Array = new Float64Array(0);
  /** First-order state: dt and the derivative and sample of the first evaluation (null: next step is a first one). */
  private dt: number | null = null;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, HEUN_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['use_exponential_sigmas', 'use_beta_sigmas']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction', 'sample']);
    this.alphasCumprod = alphasCumprodOf(betasFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2', 'exp']));
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
    this.setTimesteps(cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  get initNoiseSigma(): number {
    return kInitNoiseSigma(this.sigmas, this.cfg.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const { timesteps, sigmas } = kSchedule({
      alphasCumprod: this.alphasCumprod,
      spacing: this.cfg.timestep_spacing,
      steps: numInferenceSteps,
      stepsOffset: this.cfg.steps_offset,
      karras: this.cfg.use_karras_sigmas,
    });
    // σ0, σ1, σ1, σ2, σ2, ..., 0: one sigma per model call, plus the final one.
    const doubled = repeatAfterFirst(Float64Array.of(...sigmas, 0).map(f32));
    this.sigmas = doubled.subarray(0, doubled.length - 1);
    this.timesteps = repeatAfterFirst(timesteps.map(f32));
    this.numInferenceSteps = numInferenceSteps;
    this.dt = null;
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentStepIndex(timestep)];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    const firstOrder = this.dt === null;
    if (firstOrder && index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const sigma = firstOrder ? this.sigmas[index] : this.sigmas[index - 1];
    const sigmaNext = firstOrder ? this.sigmas[index + 1] : this.sigmas[index];
    // The first evaluation is at σ, the second at σ_next.
    const sigmaInput = firstOrder ? sigma : sigmaNext;
    const clip = this.cfg.clip_sample ? this.cfg.clip_sample_range : null;
    const denoised = kDenoise(this.prediction, sigmaInput, modelOutput, sample, this.buffer('denoised', n), clip);
    const derivative = this.buffer('derivative', n);
    const firstSample = this.buffer('firstSample', n);
    const out = this.outputBuffer(n);
    const dt = firstOrder ? f32(sigmaNext - sigma) : this.dt!;
    if (firstOrder) {
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const d = f32(f32(x - denoised[i]) / sigma);
        derivative[i] = d;
        firstSample[i] = x;
        out[i] = x + f32(d * dt);
      }
    } else {
      // Average the two slopes and step again from the first evaluation's sample.
      for (let i = 0; i < n; i++) {
        const d = f32(f32(derivative[i] + f32(f32(sample[i] - denoised[i]) / sigmaNext)) / 2);
        out[i] = firstSample[i] + f32(d * dt);
      }
    }
    this.dt = firstOrder ? dt : null;
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
