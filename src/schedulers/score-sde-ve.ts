/**
 * ScoreSdeVeScheduler: the predictor–corrector sampler of the variance-exploding score SDE
 * (Song et al. 2021). It needs a model of the score ∇log p, not of the noise, and continuous time
 * t ∈ [1, ε]; Stable Diffusion is neither, so only its schedules are provided.
 */
import { resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import type { ScheduleOnly } from './schedule-only.js';
import { torchLinspaceF32 } from './reference-numerics.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const SCORE_SDE_VE_DEFAULTS = {
  num_train_timesteps: 2000,
  snr: 0.15,
  sigma_min: 0.01,
  sigma_max: 1348.0,
  sampling_eps: 1e-5,
  correct_steps: 1,
};

export const SCORE_SDE_VE_REASON =
  'ScoreSdeVeScheduler is the predictor-corrector sampler of variance-exploding score models (sigma up to 1348, ' +
  'continuous time in [1, 1e-5], the model predicts the score); Stable Diffusion predicts noise on a variance-preserving schedule';

export class ScoreSdeVeScheduler extends SchedulerBase implements ScheduleOnly {
  readonly name = 'ScoreSdeVeScheduler';
  readonly notForSd = SCORE_SDE_VE_REASON;
  private readonly cfg: typeof SCORE_SDE_VE_DEFAULTS;
  override sigmas: Float64Array = new Float64Array(0);
  /** exp(linspace(log σ_min, log σ_max, n)): the discrete noise levels of the predictor. */
  discreteSigmas: Float64Array = new Float64Array(0);

  constructor(config: SchedulerConfig) {
    super();
    this.cfg = resolveConfig(this.name, SCORE_SDE_VE_DEFAULTS, config);
    this.setTimesteps(this.cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  get initNoiseSigma(): number {
    return this.cfg.sigma_max;
  }

  /** diffusers' `set_timesteps` followed by `set_sigmas`, as its pipeline calls them. */
  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const { sigma_min: lo, sigma_max: hi, sampling_eps: eps } = this.cfg;
    this.timesteps = torchLinspaceF32(1, eps, numInferenceSteps);
    this.discreteSigmas = torchLinspaceF32(Math.log(lo), Math.log(hi), numInferenceSteps).map((l) => f32(Math.exp(l)));
    this.sigmas = this.timesteps.map((t) => f32(lo * (hi / lo) ** t));
    this.numInferenceSteps = numInferenceSteps;
  }

  scheduleRecord(): Record<string, number[]> {
    return { discrete_sigmas: Array.from(this.discreteSigmas) };
  }

  step(): StepResult {
    throw new SchedulerError(SCORE_SDE_VE_REASON);
  }

  /** diffusers' `add_noise`: x0 + noise · discrete_sigmas[timestep], the timestep an index. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const sigma = this.discreteSigmas[timestep];
    if (!Number.isInteger(timestep) || sigma === undefined) {
      throw new SchedulerError(`${this.name}: add_noise timestep must index the ${this.discreteSigmas.length} discrete sigmas, got ${timestep}`);
    }
    const out = new Float32Array(original.length);
    for (let i = 0; i < out.length; i++) out[i] = f32(noise[i] * sigma) + original[i];
    return out;
  }
}
