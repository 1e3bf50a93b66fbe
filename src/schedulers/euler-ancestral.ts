/**
 * EulerAncestralDiscreteScheduler ("Euler a"): an Euler step down to σ_down, then fresh noise of
 * σ_up (k-diffusion's `sample_euler_ancestral`). Every step draws one noise tensor.
 */
import { alphasCumprodOf, betasFromConfig, rescaleZeroTerminalSnr } from './betas.js';
import { oneOf, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule } from './k-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import { trainingSigmas } from './sigmas.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const EULER_ANCESTRAL_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

export class EulerAncestralDiscreteScheduler extends SchedulerBase {
  readonly name = 'EulerAncestralDiscreteScheduler';
  private readonly cfg: typeof EULER_ANCESTRAL_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: 'epsilon' | 'v_prediction';
  override sigmas: Float64Array;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, EULER_ANCESTRAL_DEFAULTS, config));
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction']);
    let betas = betasFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    if (cfg.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprodOf(betas);
    if (cfg.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
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
      karras: false,
    });
    this.sigmas = Float64Array.of(...sigmas, 0).map(f32);
    this.timesteps = timesteps.map(f32);
    this.numInferenceSteps = numInferenceSteps;
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentStepIndex(timestep)];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const source = this.requireNoise(noise);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const sigma = this.sigmas[index];
    const sigmaTo = this.sigmas[index + 1];
    // Split the step: deterministic down to σ_down, fresh noise of σ_up (σ_down² + σ_up² = σ_to²).
    const from2 = f32(sigma * sigma);
    const to2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const denoised = kDenoise(this.prediction, sigma, modelOutput, sample, this.buffer('denoised', n));
    const draw = source.randn(n);
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i];
      out[i] = f32(x + f32(f32(f32(x - denoised[i]) / sigma) * dt)) + f32(draw[i] * sigmaUp);
    }
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
