/**
 * KarrasVeScheduler (deprecated in diffusers): the stochastic sampler of Karras et al. (2022, alg. 2)
 * for variance-exploding models. Its loop needs `add_noise_to_input` and a VE denoiser, which Stable
 * Diffusion is not; only its schedule is provided.
 */
import { resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import type { ScheduleOnly } from './schedule-only.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const KARRAS_VE_DEFAULTS = {
  sigma_min: 0.02,
  sigma_max: 100,
  s_noise: 1.007,
  s_churn: 80,
  s_min: 0.05,
  s_max: 50,
};

export const KARRAS_VE_REASON =
  'KarrasVeScheduler samples variance-exploding models (sigma 0.02 to 100, noise added to the input before each step); ' +
  'Stable Diffusion is a variance-preserving latent model trained on another noise schedule, so it cannot denoise with it';

export class KarrasVeScheduler extends SchedulerBase implements ScheduleOnly {
  readonly name = 'KarrasVeScheduler';
  override order = 2;
  readonly notForSd = KARRAS_VE_REASON;
  private readonly cfg: typeof KARRAS_VE_DEFAULTS;
  /** σ_i² of the schedule, one per timestep (diffusers' `schedule`). */
  schedule: Float64Array = new Float64Array(0);

  constructor(config: SchedulerConfig) {
    super();
    this.cfg = resolveConfig(this.name, KARRAS_VE_DEFAULTS, config);
  }

  get initNoiseSigma(): number {
    return this.cfg.sigma_max;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const { sigma_min: lo, sigma_max: hi } = this.cfg;
    this.timesteps = Float64Array.from({ length: numInferenceSteps }, (_, i) => numInferenceSteps - 1 - i);
    // σ_max² · (σ_min² / σ_max²)^(i / (n - 1)): NaN for a single step, as in diffusers.
    this.schedule = this.timesteps.map((i) => f32(hi ** 2 * (lo ** 2 / hi ** 2) ** f32(i / (numInferenceSteps - 1))));
    this.numInferenceSteps = numInferenceSteps;
  }

  scheduleRecord(): Record<string, number[]> {
    return { schedule: Array.from(this.schedule) };
  }

  step(): StepResult {
    throw new SchedulerError(KARRAS_VE_REASON);
  }

  addNoise(): Float32Array {
    throw new SchedulerError(`${this.name} has no add_noise`);
  }
}
