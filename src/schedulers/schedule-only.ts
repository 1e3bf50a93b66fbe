/**
 * Schedulers that provide their schedules but no step a Stable Diffusion loop can drive
 * (the variance-exploding samplers): the trace and the tests read their schedules instead.
 */
import type { Scheduler } from './types.js';

export interface ScheduleOnly {
  /** Why the scheduler cannot drive a Stable Diffusion denoising loop. */
  readonly notForSd: string;
  /** Named schedules beyond `timesteps` / `sigmas` (diffusers' attribute names). */
  scheduleRecord(): Record<string, number[]>;
}

export function isScheduleOnly(s: Scheduler): s is Scheduler & ScheduleOnly {
  return typeof (s as Partial<ScheduleOnly>).scheduleRecord === 'function';
}
