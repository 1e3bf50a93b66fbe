/** Stage: the scheduler built from the model's config, and the timesteps the job runs (all, or the img2img tail). */
import type { GenerationMode, GenerationSpec } from '../../domain/index.js';
import { createScheduler } from '../../schedulers/registry.js';
import type { Scheduler } from '../../schedulers/types.js';
import { GenerationError } from '../errors.js';

export function generationMode(spec: Pick<GenerationSpec, 'maskImage' | 'initImage' | 'strength'>): GenerationMode {
  if (spec.maskImage) return 'inpaint';
  return spec.initImage && spec.strength < 1 ? 'img2img' : 'txt2img';
}

/**
 * diffusers' img2img/inpaint `get_timesteps`: keep the last int(steps × strength) steps.
 * Returns the index of the first step to run (in the scheduler's timestep list).
 */
export function firstStepIndex(steps: number, strength: number, order: number): number {
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initTimestep, 0) * order;
}

export interface Schedule {
  scheduler: Scheduler;
  timesteps: Float64Array;
  /** Denoising steps really run (fewer than `steps` for img2img/inpaint with strength < 1). */
  stepsRun: number;
}

export function schedule(spec: GenerationSpec, mode: GenerationMode): Schedule {
  const scheduler = createScheduler(spec.scheduler, spec.model.schedulerConfig, {
    useKarrasSigmas: spec.useKarrasSigmas,
    algorithmType: spec.algorithmType,
  });
  scheduler.setTimesteps(spec.steps);
  let timesteps = scheduler.timesteps;
  let stepsRun = spec.steps;
  if (mode !== 'txt2img') {
    const begin = firstStepIndex(spec.steps, spec.strength, scheduler.order);
    timesteps = timesteps.subarray(begin);
    scheduler.setBeginIndex(begin);
    stepsRun = spec.steps - begin / scheduler.order;
  }
  if (timesteps.length === 0) {
    throw new GenerationError(`strength ${spec.strength} × num_inference_steps ${spec.steps} leaves no step to run; raise either`);
  }
  return { scheduler, timesteps, stepsRun };
}
