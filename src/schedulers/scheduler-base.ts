/**
 * What every scheduler shares: the step-index bookkeeping of diffusers (`_step_index`,
 * `_begin_index`, `index_for_timestep`), argument checks, and scheduler-owned work buffers so
 * that a step allocates nothing once the latent shape is known.
 */
import { SchedulerError } from './errors.js';
import type { NoiseSource, Scheduler, StepResult } from './types.js';

export abstract class SchedulerBase implements Scheduler {
  abstract readonly name: string;
  order = 1;
  timesteps: Float64Array = new Float64Array(0);
  sigmas?: Float64Array;
  usesKarrasSigmas = false;

  protected stepIndex: number | null = null;
  protected beginIndex: number | null = null;
  /** Set by `setTimesteps`; steps before that are an error, as in diffusers. */
  protected numInferenceSteps: number | null = null;

  private readonly buffers = new Map<string, Float32Array>();
  private outputFlip = false;

  abstract readonly initNoiseSigma: number;
  abstract setTimesteps(numInferenceSteps: number): void;
  abstract step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult;
  abstract addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;

  scaleModelInput(sample: Float32Array, _timestep: number): Float32Array {
    return sample;
  }

  /** Schedulers that locate a step by its timestep (DDPM, DDIM, PNDM) have no use for it, as in diffusers. */
  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) {
      throw new SchedulerError(`${this.name}: begin index must be a non-negative integer, got ${beginIndex}`);
    }
    this.beginIndex = beginIndex;
  }

  /** A scheduler-owned buffer of `numel` floats, reused from call to call. */
  protected buffer(key: string, numel: number): Float32Array {
    let b = this.buffers.get(key);
    if (!b || b.length !== numel) {
      b = new Float32Array(numel);
      this.buffers.set(key, b);
    }
    return b;
  }

  /**
   * The buffer a step writes `prevSample` into. Two alternate, so the previous step's output
   * (which the caller usually passes back as `sample`) is never overwritten while it is read.
   */
  protected outputBuffer(numel: number): Float32Array {
    this.outputFlip = !this.outputFlip;
    return this.buffer(this.outputFlip ? 'out.a' : 'out.b', numel);
  }

  protected validateSetTimesteps(n: number, max?: number): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new SchedulerError(`${this.name}: num_inference_steps must be a positive integer, got ${n}`);
    }
    if (max !== undefined && n > max) {
      throw new SchedulerError(`${this.name}: num_inference_steps ${n} cannot exceed ${max}`);
    }
  }

  protected validateStep(modelOutput: Float32Array, sample: Float32Array): void {
    if (this.numInferenceSteps === null) {
      throw new SchedulerError(`${this.name}: call setTimesteps before step`);
    }
    if (modelOutput.length !== sample.length) {
      throw new SchedulerError(`${this.name}: model output has ${modelOutput.length} values, sample ${sample.length}`);
    }
  }

  protected requireNoise(noise: NoiseSource | undefined): NoiseSource {
    if (!noise) throw new SchedulerError(`${this.name}: this step draws noise; pass a NoiseSource to step()`);
    return noise;
  }

  /** diffusers' `index_for_timestep`: the second match when a timestep repeats (Heun, KDPM2 lists). */
  protected indexForTimestep(timestep: number, schedule: Float64Array = this.timesteps): number {
    let first = -1;
    for (let i = 0; i < schedule.length; i++) {
      if (schedule[i] !== timestep) continue;
      if (first >= 0) return i;
      first = i;
    }
    if (first >= 0) return first;
    return this.indexForMissingTimestep(timestep);
  }

  /** Most schedulers fail on a timestep not in their list; the multistep solvers use the last index. */
  protected indexForMissingTimestep(timestep: number): number {
    throw new SchedulerError(`${this.name}: timestep ${timestep} is not one of the scheduler's timesteps`);
  }

  /** diffusers' `_init_step_index`: the begin index when set, else the position of `timestep`. */
  protected currentStepIndex(timestep: number): number {
    if (this.stepIndex === null) this.stepIndex = this.beginIndex ?? this.indexForTimestep(timestep);
    return this.stepIndex;
  }

  /** The schedule index `add_noise` uses in diffusers' sigma-based schedulers. */
  protected addNoiseIndex(timestep: number): number {
    if (this.beginIndex === null) return this.indexForTimestep(timestep);
    return this.stepIndex ?? this.beginIndex;
  }

  protected resetStepIndex(): void {
    this.stepIndex = null;
    this.beginIndex = null;
  }
}
