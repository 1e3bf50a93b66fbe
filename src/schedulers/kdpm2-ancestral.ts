/**
 * KDPM2AncestralDiscreteScheduler: k-diffusion's `sample_dpm_2_ancestral`: DPM-Solver-2 down to
 * σ_down through the geometric midpoint, then fresh noise of σ_up. Noise is drawn on the second
 * evaluation of each interval only.
 */
import { alphasCumprodOf, betasFromConfig } from './betas.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule } from './k-schedule.js';
import { doubledWithLast, interleaveMidpoints, lerpHalf } from './kdpm2.js';
import { SchedulerBase } from './scheduler-base.js';
import { sigmaToTimestepF32 } from './sigmas.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const KDPM2_ANCESTRAL_DEFAULTS = {
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

export class KDPM2AncestralDiscreteScheduler extends SchedulerBase {
  readonly name = 'KDPM2AncestralDiscreteScheduler';
  override order = 2;
  private readonly cfg: typeof KDPM2_ANCESTRAL_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: 'epsilon' | 'v_prediction';
  override sigmas: Float64Array = new Float64Array(0);
  private sigmasInterpol: Float64Array = new Float64Array(0);
  private sigmasUp: Float64Array = new Float64Array(0);
  private sigmasDown: Float64Array = new Float64Array(0);
  private pendingSample = false;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, KDPM2_ANCESTRAL_DEFAULTS, config));
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
    const last = sigmas.length - 1;
    const up = new Float64Array(sigmas.length);
    const down = new Float64Array(sigmas.length);
    const interpol = new Float64Array(sigmas.length);
    for (let i = 0; i < sigmas.length; i++) {
      const s2 = f32(sigmas[i] * sigmas[i]);
      const next = i < last ? sigmas[i + 1] : 0;
      const n2 = f32(next * next);
      up[i] = f32(Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2)));
      down[i] = i < last ? f32(Math.sqrt(f32(n2 - f32(up[i] * up[i])))) : 0;
      // The midpoint in log sigma between σ and σ_down; the last two are zero.
      interpol[i] = i < last - 1 ? f32(Math.exp(lerpHalf(f32(Math.log(sigmas[i])), f32(Math.log(down[i]))))) : 0;
    }
    this.sigmas = doubledWithLast(sigmas);
    this.sigmasInterpol = doubledWithLast(interpol);
    this.sigmasUp = doubledWithLast(up);
    this.sigmasDown = doubledWithLast(down);
    // Here the midpoint before step i is the previous interval's: interpol[i - 1].
    const midTimesteps = interpol.map((_, i) => (i > 0 ? sigmaToTimestepF32(interpol[i - 1], schedule.logSigmas) : NaN));
    this.timesteps = interleaveMidpoints(schedule.timesteps.map(f32), midTimesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.pendingSample = false;
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const index = this.currentStepIndex(timestep);
    const sigma = this.pendingSample ? this.sigmasInterpol[index - 1] : this.sigmas[index];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    const firstOrder = !this.pendingSample;
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const source = firstOrder ? null : this.requireNoise(noise);
    const n = sample.length;
    const sigma = firstOrder ? this.sigmas[index] : this.sigmas[index - 1];
    const sigmaInterpol = firstOrder ? this.sigmasInterpol[index] : this.sigmasInterpol[index - 1];
    const sigmaUp = this.sigmasUp[firstOrder ? index : index - 1];
    // The model was evaluated at σ (first call of the interval) or at the midpoint (second call).
    const sigmaEval = firstOrder ? sigma : sigmaInterpol;
    const dt = firstOrder ? f32(sigmaInterpol - sigma) : f32(this.sigmasDown[index - 1] - sigma);
    const draw = source ? source.randn(n) : null;
    const firstSample = this.buffer('firstSample', n);
    const denoised = kDenoise(this.prediction, sigmaEval, modelOutput, sample, this.buffer('denoised', n));
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i];
      const derivative = f32(f32(x - denoised[i]) / sigmaEval);
      if (firstOrder) {
        firstSample[i] = x;
        out[i] = x + f32(derivative * dt);
      } else {
        out[i] = f32(firstSample[i] + f32(derivative * dt)) + f32(draw![i] * sigmaUp);
      }
    }
    this.pendingSample = firstOrder;
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
