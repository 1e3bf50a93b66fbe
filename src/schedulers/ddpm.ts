/** DDPMScheduler: ancestral sampling of Ho et al. (2020), eq. 6–7: posterior mean plus fresh noise. */
import { addNoiseWithAlpha, alphaAt, alphasCumprodFromConfig, predictX0AndEps, type Prediction } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { SchedulerBase } from './scheduler-base.js';
import { spacedTimesteps } from './timesteps.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const DDPM_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  variance_type: 'fixed_small',
  clip_sample: true,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

type VarianceType = 'fixed_small' | 'fixed_small_log' | 'fixed_large';

export class DDPMScheduler extends SchedulerBase {
  readonly name = 'DDPMScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DDPM_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: Prediction;
  private readonly varianceType: VarianceType;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DDPM_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    // learned / learned_range need a model that also predicts its variance (pixel-space DDPMs, not SD).
    this.varianceType = oneOf(this.name, 'variance_type', cfg.variance_type, ['fixed_small', 'fixed_small_log', 'fixed_large']);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid']);
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

  /** diffusers' `previous_timestep`: the next entry of the list, -1 after the last. */
  private previousTimestep(timestep: number): number {
    const index = this.timesteps.indexOf(timestep);
    if (index < 0) throw new SchedulerError(`${this.name}: timestep ${timestep} is not one of the scheduler's timesteps`);
    return index === this.timesteps.length - 1 ? -1 : this.timesteps[index + 1];
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const prevT = this.previousTimestep(timestep);
    const alphaProd = alphaAt(this.alphasCumprod, timestep, this.name);
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT] : 1;
    const betaProd = f32(1 - alphaProd);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const currentAlpha = f32(alphaProd / alphaProdPrev);
    const currentBeta = f32(1 - currentAlpha);
    // Posterior mean coefficients (Ho et al. eq. 7).
    const x0Coeff = f32(f32(f32(Math.sqrt(alphaProdPrev)) * currentBeta) / betaProd);
    const xtCoeff = f32(f32(f32(Math.sqrt(currentAlpha)) * betaProdPrev) / betaProd);
    const std = timestep > 0 ? this.noiseStd(alphaProd, alphaProdPrev) : 0;
    const draw = timestep > 0 ? this.requireNoise(noise).randn(sample.length) : null;
    const n = sample.length;
    const clip = this.cfg.clip_sample ? this.cfg.clip_sample_range : null;
    const denoised = this.buffer('denoised', n);
    predictX0AndEps(this.prediction, alphaProd, modelOutput, sample, clip, denoised);
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) out[i] = f32(x0Coeff * denoised[i]) + f32(xtCoeff * sample[i]);
    if (draw) for (let i = 0; i < n; i++) out[i] = out[i] + f32(std * draw[i]);
    return { prevSample: out, denoised };
  }

  /** The standard deviation of the added noise for the configured variance type. */
  private noiseStd(alphaProd: number, alphaProdPrev: number): number {
    const currentBeta = f32(1 - f32(alphaProd / alphaProdPrev));
    const variance = Math.max(f32(f32(f32(1 - alphaProdPrev) / f32(1 - alphaProd)) * currentBeta), 1e-20);
    switch (this.varianceType) {
      case 'fixed_small':
        return f32(Math.sqrt(variance));
      case 'fixed_small_log':
        return f32(Math.exp(f32(0.5 * f32(Math.log(variance)))));
      case 'fixed_large':
        return f32(Math.sqrt(currentBeta));
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseWithAlpha(alphaAt(this.alphasCumprod, timestep, this.name), original, noise);
  }
}
