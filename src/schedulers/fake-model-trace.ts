/**
 * The fake-model denoising loop of test/fixtures/golden/README.md, shared by the golden tests and
 * scripts/scheduler-trace.ts: a closed-form "model", a formula start sample and formula noise
 * draws, so that a scheduler's trace can be compared number for number with diffusers'.
 */
import { createScheduler } from './registry.js';
import { isScheduleOnly } from './schedule-only.js';
import type { NoiseSource, Scheduler, SchedulerConfig } from './types.js';

const f32 = Math.fround;

/** The latent shape of every trace. */
export const TRACE_SHAPE = [1, 4, 8, 8] as const;
const NUMEL = TRACE_SHAPE.reduce((a: number, b: number) => a * b, 1);

/** One trace request, as scripts/scheduler-trace.ts reads it. */
export interface TraceCase {
  scheduler: string;
  use_karras_sigmas?: boolean | null;
  algorithm_type?: string | null;
  timestep_spacing?: string | null;
  num_inference_steps: number;
  config: SchedulerConfig;
}

export interface TraceResult {
  timesteps: number[];
  sigmas: number[] | null;
  init_noise_sigma: number;
  samples_per_step: number[][];
  final_sample: number[] | null;
  /** LCM's `denoised` after each step. */
  denoised_per_step?: number[][];
  noise_draws: number;
  /** Variance-exploding schedulers: only their schedules are traced, with the reason why. */
  not_for_sd?: string;
  schedules?: Record<string, number[]>;
}

/** Draw k of a run: f32(sqrt(2) · sin(0.7071·j + 1.618·k + 0.1)), j the flat index. */
export class FormulaNoise implements NoiseSource {
  draws = 0;
  randn(numel: number): Float32Array {
    const k = this.draws++;
    const out = new Float32Array(numel);
    for (let j = 0; j < numel; j++) out[j] = Math.SQRT2 * Math.sin(0.7071 * j + 1.618 * k + 0.1);
    return out;
  }
}

/** eps = x_in · f32(0.3·cos(t/200)) + f32(0.05·sin(t/37)), in float32 as torch computes it. */
export function fakeModelOutput(xIn: Float32Array, t: number, out = new Float32Array(xIn.length)): Float32Array {
  const scale = f32(0.3 * Math.cos(t / 200));
  const shift = f32(0.05 * Math.sin(t / 37));
  for (let i = 0; i < xIn.length; i++) out[i] = f32(xIn[i] * scale) + shift;
  return out;
}

/** The start sample: f32(sin(0.37·j)) · init_noise_sigma (a float32 product). */
export function traceStartSample(initNoiseSigma: number, numel = NUMEL): Float32Array {
  const sigma = f32(initNoiseSigma);
  const out = new Float32Array(numel);
  for (let j = 0; j < numel; j++) out[j] = f32(Math.sin(0.37 * j)) * sigma;
  return out;
}

export function schedulerForCase(c: TraceCase): Scheduler {
  return createScheduler(c.scheduler, c.config, {
    useKarrasSigmas: c.use_karras_sigmas ?? undefined,
    algorithmType: c.algorithm_type ?? undefined,
    timestepSpacing: (c.timestep_spacing ?? undefined) as 'leading' | 'linspace' | 'trailing' | undefined,
  });
}

/** Runs the README's loop for one case. */
export function runFakeModelTrace(c: TraceCase): TraceResult {
  const scheduler = schedulerForCase(c);
  scheduler.setTimesteps(c.num_inference_steps);
  const timesteps = Array.from(scheduler.timesteps);
  const sigmas = scheduler.sigmas ? Array.from(scheduler.sigmas) : null;
  const initNoiseSigma = scheduler.initNoiseSigma;
  if (isScheduleOnly(scheduler)) {
    return {
      timesteps,
      sigmas,
      init_noise_sigma: initNoiseSigma,
      samples_per_step: [],
      final_sample: null,
      noise_draws: 0,
      not_for_sd: scheduler.notForSd,
      schedules: scheduler.scheduleRecord(),
    };
  }
  const noise = new FormulaNoise();
  let sample = traceStartSample(initNoiseSigma);
  const eps = new Float32Array(sample.length);
  const samples: number[][] = [];
  const denoised: number[][] = [];
  for (const t of scheduler.timesteps) {
    const xIn = scheduler.scaleModelInput(sample, t);
    fakeModelOutput(xIn, t, eps);
    const result = scheduler.step(eps, t, sample, noise);
    sample = result.prevSample.slice();
    samples.push(Array.from(sample));
    if (result.denoised) denoised.push(Array.from(result.denoised));
  }
  const trace: TraceResult = {
    timesteps,
    sigmas,
    init_noise_sigma: initNoiseSigma,
    samples_per_step: samples,
    final_sample: Array.from(sample),
    noise_draws: noise.draws,
  };
  if (c.scheduler === 'LCMScheduler') trace.denoised_per_step = denoised;
  return trace;
}
