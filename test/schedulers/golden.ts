/** Loads test/fixtures/golden/schedulers.json (diffusers 0.35.2 traces) and compares traces with it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerConfig } from '../../src/schedulers/types.js';
import type { TraceCase, TraceResult } from '../../src/schedulers/fake-model-trace.js';
import { GOLDEN_DIR } from '../helpers/golden.js';

export interface GoldenRun {
  num_inference_steps: number;
  timesteps: number[];
  sigmas: (number | string)[] | null;
  init_noise_sigma: number;
  initial_sample?: number[];
  samples_per_step?: number[][];
  final_sample?: number[];
  denoised_per_step?: number[][];
  noise?: { k: number; shape: number[]; values: number[] }[][];
  noise_draws?: number;
  schedule?: (number | string)[];
  discrete_sigmas?: number[];
  order?: number;
}

export interface GoldenVariant {
  key: string;
  class: string;
  overrides: Record<string, unknown>;
  config: SchedulerConfig;
  not_for_sd?: string;
  runs: Record<string, GoldenRun>;
}

interface GoldenFile {
  meta: { sd15_config: SchedulerConfig };
  common: { betas: number[]; alphas_cumprod: number[] };
  schedulers: Record<string, Omit<GoldenVariant, 'key'>>;
}

const path = join(GOLDEN_DIR, 'schedulers.json');
export const golden = JSON.parse(readFileSync(path, 'utf8')) as GoldenFile;

export const variants: GoldenVariant[] = Object.entries(golden.schedulers).map(([key, v]) => ({ key, ...v }));

/** The trace case that reproduces a golden variant: SD 1.5's config, the overrides as request options. */
export function caseFor(v: GoldenVariant, steps: number, config: SchedulerConfig = golden.meta.sd15_config): TraceCase {
  const o = v.overrides;
  return {
    scheduler: v.class,
    use_karras_sigmas: (o.use_karras_sigmas as boolean | undefined) ?? null,
    algorithm_type: (o.algorithm_type as string | undefined) ?? null,
    timestep_spacing: (o.timestep_spacing as string | undefined) ?? null,
    num_inference_steps: steps,
    config,
  };
}

/** A golden float: float32 written as its shortest decimal (NaN as a string); fround restores it. */
export function num(v: number | string): number {
  return Math.fround(typeof v === 'string' ? Number(v) : v);
}

/** max |a - b| / max |b|: the error relative to the reference tensor's magnitude. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = num(expected[i] as number);
    const a = actual[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    maxDiff = Math.max(maxDiff, Math.abs(a - e));
    maxRef = Math.max(maxRef, Math.abs(e));
  }
  if (Number.isNaN(maxDiff)) return Infinity;
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/** Elementwise relative error of a 1-D schedule (timesteps, sigmas), with an absolute floor of 1. */
export function scheduleError(actual: ArrayLike<number> | null, expected: ArrayLike<number | string> | null): number {
  if (!actual || !expected) return actual === expected ? 0 : Infinity;
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = num(expected[i]);
    const a = actual[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (!(Number.isNaN(e) && Number.isNaN(a))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a - e) / Math.max(Math.abs(e), 1e-3));
  }
  return worst;
}

/** The worst error over every per-step sample of a trace. */
export function traceError(trace: TraceResult, run: GoldenRun): number {
  const expected = run.samples_per_step ?? [];
  if (trace.samples_per_step.length !== expected.length) return Infinity;
  let worst = 0;
  expected.forEach((s, i) => (worst = Math.max(worst, relError(trace.samples_per_step[i], s))));
  return worst;
}
