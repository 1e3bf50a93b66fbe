/**
 * KDPM2DiscreteScheduler: k-diffusion's DPM-Solver-2 (`sample_dpm_2`): a half step to the
 * geometric-mean sigma, a model call there, then the full step with that midpoint slope.
 * The timestep list interleaves the midpoints' (fractional) timesteps.
 */
import { SchedulerError } from './errors.js';
import { divideInto } from './kernels.js';
import { inputScaleDivisor, kDenoise } from './k-schedule.js';
import { doubledWithLast, Kdpm2Base, lerpHalf } from './kdpm2-base.js';
import { sigmaToTimestepF32 } from './sigmas.js';
import type { SchedulerConfig, StepResult } from './types.js';
import { torchExpf, torchLogf } from '../math/sleef-float32.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export { doubledWithLast, interleaveMidpoints, KDPM2_DEFAULTS, lerpHalf } from './kdpm2-base.js';

export class KDPM2DiscreteScheduler extends Kdpm2Base {
  readonly name = 'KDPM2DiscreteScheduler';

  constructor(config: SchedulerConfig) {
    super('KDPM2DiscreteScheduler', config);
    this.setTimesteps(this.cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { schedule, sigmas } = this.schedule(numInferenceSteps);
    // Midpoints in log sigma between each sigma and the one before it (σ_{-1} wraps to the final 0).
    const logs = sigmas.map((s) => torchLogf(s));
    const interpol = logs.map((l, i) => torchExpf(lerpHalf(l, logs[(i + logs.length - 1) % logs.length])));
    this.sigmas = doubledWithLast(sigmas);
    this.sigmasInterpol = doubledWithLast(interpol);
    const midTimesteps = interpol.map((s) => sigmaToTimestepF32(s, schedule.logSigmas));
    this.finishTimesteps(numInferenceSteps, schedule.timesteps, midTimesteps);
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
}
