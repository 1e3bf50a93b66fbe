/** DDIMScheduler: the deterministic (η = 0) DDIM update of Song et al. (2021), eq. 12. */
import { addNoiseWithAlpha, alphaAt, alphasCumprodFromConfig, predictX0AndEps, type Prediction } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerBase } from './scheduler-base.js';
import { spacedTimesteps } from './timesteps.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const DDIM_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

export class DDIMScheduler extends SchedulerBase {
  readonly name = 'DDIMScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DDIM_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly prediction: Prediction;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DDIM_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.finalAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.alphasCumprod[0];
    this.timesteps = Float64Array.from({ length: cfg.num_train_timesteps }, (_, i) => cfg.num_train_timesteps - 1 - i);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps, this.cfg.num_train_timesteps);
    this.timesteps = spacedTimesteps({
      spacing: this.cfg.timestep_spacing,
      numTrainTimesteps: this.cfg.num_train_timesteps,
      steps: numInferenceSteps,
      stepsOffset: this.cfg.steps_offset,
      roundLinspace: true,
    });
    this.numInferenceSteps = numInferenceSteps;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    // diffusers steps back by T / n whatever the spacing.
    const prevT = timestep - Math.floor(this.cfg.num_train_timesteps / this.numInferenceSteps!);
    const alphaProd = alphaAt(this.alphasCumprod, timestep, this.name);
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const n = sample.length;
    const denoised = this.buffer('denoised', n);
    const eps = this.buffer('eps', n);
    predictX0AndEps(this.prediction, alphaProd, modelOutput, sample, this.cfg.clip_sample ? this.cfg.clip_sample_range : null, denoised, eps);
    // η = 0: σ_t = 0, so the direction term keeps all of 1 - ᾱ_prev.
    const dirCoeff = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    const x0Coeff = f32(Math.sqrt(alphaProdPrev));
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) out[i] = f32(x0Coeff * denoised[i]) + f32(dirCoeff * eps[i]);
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseWithAlpha(alphaAt(this.alphasCumprod, timestep, this.name), original, noise);
  }
}
