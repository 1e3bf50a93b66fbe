/**
 * DDIMInverseScheduler: DDIM run backwards (image → noise), for inversion-based editing. It walks
 * the timesteps upwards, so it cannot denoise: not usable for generation.
 */
import { alphaAt, alphasCumprodFromConfig, predictX0AndEps, type Prediction } from './alpha-schedule.js';
import { oneOf, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { SchedulerBase } from './scheduler-base.js';
import { numpyArange, roundHalfEven } from './reference-numerics.js';
import type { SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const DDIM_INVERSE_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  clip_sample_range: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

export class DDIMInverseScheduler extends SchedulerBase {
  readonly name = 'DDIMInverseScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DDIM_INVERSE_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly initialAlphaCumprod: number;
  private readonly prediction: Prediction;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DDIM_INVERSE_DEFAULTS, config));
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    oneOf(this.name, 'timestep_spacing', cfg.timestep_spacing, ['leading', 'trailing']);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.initialAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.alphasCumprod[0];
    this.timesteps = Float64Array.from({ length: cfg.num_train_timesteps }, (_, i) => i);
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.cfg.num_train_timesteps;
    this.validateSetTimesteps(numInferenceSteps, T);
    if (this.cfg.timestep_spacing === 'leading') {
      const ratio = Math.floor(T / numInferenceSteps);
      this.timesteps = Float64Array.from({ length: numInferenceSteps }, (_, i) => i * ratio + this.cfg.steps_offset);
    } else {
      const points = numpyArange(T, 0, -(T / numInferenceSteps)).subarray(0, numInferenceSteps);
      this.timesteps = points.reverse().map((t) => roundHalfEven(t) - 1);
    }
    this.numInferenceSteps = numInferenceSteps;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const T = this.cfg.num_train_timesteps;
    // Inverted roles: the model saw `timestep`; the step goes from one interval below it up to it.
    const from = Math.min(timestep - Math.floor(T / this.numInferenceSteps!), T - 1);
    const alphaProd = from >= 0 ? this.alphasCumprod[from] : this.initialAlphaCumprod;
    const alphaProdNext = alphaAt(this.alphasCumprod, timestep, this.name);
    const n = sample.length;
    const denoised = this.buffer('denoised', n);
    const eps = this.buffer('eps', n);
    predictX0AndEps(this.prediction, alphaProd, modelOutput, sample, this.cfg.clip_sample ? this.cfg.clip_sample_range : null, denoised, eps);
    const dirCoeff = f32(Math.sqrt(f32(1 - alphaProdNext)));
    const x0Coeff = f32(Math.sqrt(alphaProdNext));
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) out[i] = f32(x0Coeff * denoised[i]) + f32(dirCoeff * eps[i]);
    return { prevSample: out, denoised };
  }

  addNoise(): Float32Array {
    throw new SchedulerError(`${this.name} has no add_noise: it inverts images to noise itself`);
  }
}
