/**
 * LCMScheduler: multistep latent-consistency sampling (Luo et al. 2023): each step maps the sample
 * to the consistency function's x0 estimate (`denoised`), then re-noises it to the next timestep.
 */
import { addNoiseWithAlpha, alphaAt, alphasCumprodFromConfig, predictX0AndEps, type Prediction } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { SchedulerBase } from './scheduler-base.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const LCM_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  trained_betas: null as number[] | null,
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
};

/** σ_data of the consistency-model boundary condition. */
const SIGMA_DATA = 0.5;

export class LCMScheduler extends SchedulerBase {
  readonly name = 'LCMScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof LCM_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly prediction: Prediction;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, LCM_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.finalAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.alphasCumprod[0];
    this.timesteps = Float64Array.from({ length: cfg.num_train_timesteps }, (_, i) => cfg.num_train_timesteps - 1 - i);
  }

  /** Evenly picks `n` of the distillation schedule's timesteps (every T / original_steps, from T - 1 down). */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.cfg.num_train_timesteps;
    const original = this.cfg.original_inference_steps;
    this.validateSetTimesteps(numInferenceSteps, T);
    if (original > T) throw new SchedulerError(`${this.name}: original_inference_steps ${original} cannot exceed ${T}`);
    if (numInferenceSteps > original) {
      throw new SchedulerError(
        `${this.name}: num_inference_steps ${numInferenceSteps} cannot exceed original_inference_steps ${original} (LCM picks its steps from that schedule)`,
      );
    }
    const k = Math.floor(T / original);
    // lcm_origin_timesteps reversed: original·k - 1, ..., k - 1.
    const origin = Float64Array.from({ length: original }, (_, i) => (original - i) * k - 1);
    const stride = original / numInferenceSteps;
    this.timesteps = Float64Array.from({ length: numInferenceSteps }, (_, i) => origin[Math.floor(i * stride)]);
    this.numInferenceSteps = numInferenceSteps;
    this.resetStepIndex();
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    const last = index === this.numInferenceSteps! - 1;
    const prevTimestep = index + 1 < this.timesteps.length ? this.timesteps[index + 1] : timestep;
    const alphaProd = alphaAt(this.alphasCumprod, timestep, this.name);
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    // Boundary-condition scalings c_skip, c_out of the consistency function.
    const scaled = f32(timestep * this.cfg.timestep_scaling);
    const scaled2 = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f32(SIGMA_DATA ** 2 / scaled2);
    const cOut = f32(scaled / f32(Math.sqrt(scaled2)));
    const draw = last ? null : this.requireNoise(noise).randn(sample.length);
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const sqrtBetaPrev = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    const n = sample.length;
    const clip = this.cfg.clip_sample ? this.cfg.clip_sample_range : null;
    const denoised = this.buffer('denoised', n);
    predictX0AndEps(this.prediction, alphaProd, modelOutput, sample, clip, denoised);
    for (let i = 0; i < n; i++) denoised[i] = f32(cOut * denoised[i]) + f32(cSkip * sample[i]);
    const out = this.outputBuffer(n);
    if (draw) for (let i = 0; i < n; i++) out[i] = f32(sqrtAlphaPrev * denoised[i]) + f32(sqrtBetaPrev * draw[i]);
    else out.set(denoised);
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseWithAlpha(alphaAt(this.alphasCumprod, timestep, this.name), original, noise);
  }
}
