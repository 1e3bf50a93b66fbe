/**
 * The one interface every scheduler implements, shaped like diffusers' SchedulerMixin so the
 * denoising loop never needs to know which sampler it drives.
 *
 * Tensors are flat Float32Arrays in NCHW order; every operation is elementwise, so the same
 * scheduler serves any batch and resolution.
 */

/** Standard-normal draws in torch's order (the pipeline passes its seeded torch-compatible generator). */
export interface NoiseSource {
  randn(numel: number): Float32Array;
}

export interface StepResult {
  /** x_{t-1}. May be a buffer owned by the scheduler: valid until the next call to `step`. */
  prevSample: Float32Array;
  /** The model's estimate of x_0 where the scheduler computes one (LCM, DDIM, ...). */
  denoised?: Float32Array;
}

export interface Scheduler {
  /** The contract's name, e.g. "EulerDiscreteScheduler". */
  readonly name: string;
  /** 1 for first-order samplers, 2 for Heun/KDPM2 (their timestep lists are interleaved). */
  readonly order: number;
  /** Standard deviation of the initial noise: latents = randn * initNoiseSigma. */
  readonly initNoiseSigma: number;
  /** The timesteps the model is called with, one `step` per entry (after `setTimesteps`). */
  readonly timesteps: Float64Array;
  /** Sigmas where the scheduler has them (k-diffusion family), else undefined. */
  readonly sigmas?: Float64Array;
  /** Whether Karras sigmas are really in use (false where the scheduler ignores the option). */
  readonly usesKarrasSigmas: boolean;

  setTimesteps(numInferenceSteps: number): void;
  /** img2img: the loop starts at timesteps[beginIndex] (diffusers' `set_begin_index`). */
  setBeginIndex(beginIndex: number): void;
  /** Scales the denoising model input; may return `sample` itself when there is nothing to scale. */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  /** One denoising step. `modelOutput` and `sample` are only read; noise is drawn from `noise`. */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult;
  /** Forward-diffuses `original` to `timestep` (img2img / inpaint), into a new array. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}

/** The request-level options that refine a scheduler (contract fields). */
export interface SchedulerOptions {
  useKarrasSigmas?: boolean;
  /** DPMSolverMultistep: "dpmsolver++" (default) or "sde-dpmsolver++". */
  algorithmType?: string | null;
  /** Overrides the config's timestep_spacing. */
  timestepSpacing?: 'leading' | 'linspace' | 'trailing' | null;
}

/** A diffusers scheduler_config.json, as parsed JSON. */
export type SchedulerConfig = Record<string, unknown>;
