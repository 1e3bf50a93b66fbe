/** EulerDiscreteScheduler: Euler's method on the probability-flow ODE (Karras et al. 2022, alg. 2). */
import { alphasCumprodOf, betasFromConfig, rescaleZeroTerminalSnr } from './betas.js';
import { oneOf, optionalNumber, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule, type KPrediction } from './k-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import { trainingSigmas } from './sigmas.js';
import type { SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const EULER_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  prediction_type: 'epsilon',
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  timestep_spacing: 'linspace',
  timestep_type: 'discrete',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  final_sigmas_type: 'zero',
};

export class EulerDiscreteScheduler extends SchedulerBase {
  readonly name = 'EulerDiscreteScheduler';
  private readonly cfg: typeof EULER_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: KPrediction;
  override sigmas: Float64Array;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, EULER_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['use_exponential_sigmas', 'use_beta_sigmas']);
    oneOf(this.name, 'interpolation_type', cfg.interpolation_type, ['linear']);
    oneOf(this.name, 'timestep_type', cfg.timestep_type, ['discrete']);
    oneOf(this.name, 'final_sigmas_type', cfg.final_sigmas_type, ['zero', 'sigma_min']);
    optionalNumber(this.name, 'sigma_min', cfg.sigma_min);
    optionalNumber(this.name, 'sigma_max', cfg.sigma_max);
    const prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction', 'sample', 'original_sample']);
    this.prediction = prediction === 'original_sample' ? 'sample' : prediction;
    let betas = betasFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    if (cfg.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprodOf(betas);
    // Zero terminal SNR makes the last sigma infinite; diffusers nudges ᾱ off zero.
    if (cfg.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
    const table = trainingSigmas(this.alphasCumprod).reverse();
    this.sigmas = Float64Array.of(...table, 0);
    this.timesteps = Float64Array.from({ length: table.length }, (_, i) => table.length - 1 - i);
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
      sigmaMin: this.cfg.sigma_min,
      sigmaMax: this.cfg.sigma_max,
    });
    const last = this.cfg.final_sigmas_type === 'sigma_min' ? f32(Math.sqrt(f32(f32(1 - this.alphasCumprod[0]) / this.alphasCumprod[0]))) : 0;
    this.sigmas = Float64Array.of(...sigmas, last).map(f32);
    this.timesteps = timesteps.map(f32);
    this.numInferenceSteps = numInferenceSteps;
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentStepIndex(timestep)];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    // s_churn = 0 (the pipelines' default): σ̂ = σ and no noise is drawn.
    const sigma = this.sigmas[index];
    const dt = f32(this.sigmas[index + 1] - sigma);
    const denoised = kDenoise(this.prediction, sigma, modelOutput, sample, this.buffer('denoised', n));
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) out[i] = sample[i] + f32(f32(f32(sample[i] - denoised[i]) / sigma) * dt);
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
