/**
 * LCMScheduler: multistep latent-consistency sampling (Luo et al. 2023): each step maps the sample
 * to the consistency function's x0 estimate (`denoised`), then re-noises it to the next timestep.
 */
import { addNoiseWithAlpha, alphaAt, alphasCumprodFromConfig, type Prediction } from './alpha-schedule.js';
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
    const sqrtAlpha = f32(Math.sqrt(alphaProd));
    const sqrtBeta = f32(Math.sqrt(f32(1 - alphaProd)));
    // Boundary-condition scalings c_skip, c_out of the consistency function.
    const scaled = f32(timestep * this.cfg.timestep_scaling);
    const scaled2 = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f32(SIGMA_DATA ** 2 / scaled2);
    const cOut = f32(scaled / f32(Math.sqrt(scaled2)));
    const draw = last ? null : this.requireNoise(noise).randn(sample.length);
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const sqrtBetaPrev = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    const range = this.cfg.clip_sample_range;
    const n = sample.length;
    const denoised = this.buffer('denoised', n);
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      let x0: number;
      if (this.prediction === 'epsilon') x0 = f32(f32(x - f32(sqrtBeta * m)) / sqrtAlpha);
      else if (this.prediction === 'sample') x0 = m;
      else x0 = f32(f32(sqrtAlpha * x) - f32(sqrtBeta * m));
      if (this.cfg.clip_sample) x0 = Math.min(Math.max(x0, -range), range);
      const d = f32(f32(cOut * x0) + f32(cSkip * x));
      denoised[i] = d;
      out[i] = draw ? f32(sqrtAlphaPrev * d) + f32(sqrtBetaPrev * draw[i]) : d;
    }
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseWithAlpha(alphaAt(this.alphasCumprod, timestep, this.name), original, noise);
  }
}
