/**
 * KDPM2AncestralDiscreteScheduler: k-diffusion's `sample_dpm_2_ancestral`: DPM-Solver-2 down to
 * σ_down through the geometric midpoint, then fresh noise of σ_up. Noise is drawn on the second
 * evaluation of each interval only.
 */
import { SchedulerError } from './errors.js';
import { divideInto } from './kernels.js';
import { inputScaleDivisor, kDenoise } from './k-schedule.js';
import { doubledWithLast, Kdpm2Base, KDPM2_DEFAULTS, lerpHalf } from './kdpm2-base.js';
import { sigmaToTimestepF32 } from './sigmas.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';
import { torchExpf, torchLogf } from '../math/sleef-float32.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const KDPM2_ANCESTRAL_DEFAULTS = KDPM2_DEFAULTS;

export class KDPM2AncestralDiscreteScheduler extends Kdpm2Base {
  readonly name = 'KDPM2AncestralDiscreteScheduler';
  private sigmasUp: Float64Array = new Float64Array(0);
  private sigmasDown: Float64Array = new Float64Array(0);

  constructor(config: SchedulerConfig) {
    super('KDPM2AncestralDiscreteScheduler', config);
    this.setTimesteps(this.cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { schedule, sigmas } = this.schedule(numInferenceSteps);
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
      interpol[i] = i < last - 1 ? torchExpf(lerpHalf(torchLogf(sigmas[i]), torchLogf(down[i]))) : 0;
    }
    this.sigmas = doubledWithLast(sigmas);
    this.sigmasInterpol = doubledWithLast(interpol);
    this.sigmasUp = doubledWithLast(up);
    this.sigmasDown = doubledWithLast(down);
    // Here the midpoint before step i is the previous interval's: interpol[i - 1].
    const midTimesteps = interpol.map((_, i) => (i > 0 ? sigmaToTimestepF32(interpol[i - 1], schedule.logSigmas) : NaN));
    this.finishTimesteps(numInferenceSteps, schedule.timesteps, midTimesteps);
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
}
