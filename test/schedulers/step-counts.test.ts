/**
 * Sanity over step counts the golden file lacks, for every scheduler usable for generation:
 * the timestep list has the right length and order, every step gives finite values, and steps
 * reuse the scheduler's buffers instead of allocating.
 */
import { describe, expect, it } from 'vitest';
import { FormulaNoise, fakeModelOutput, traceStartSample } from '../../src/schedulers/fake-model-trace.js';
import { SCHEDULER_NAMES, SchedulerError, createScheduler, schedulerInfo } from '../../src/schedulers/registry.js';
import type { SchedulerConfig } from '../../src/schedulers/types.js';
import { golden } from './golden.js';

const USABLE = SCHEDULER_NAMES.filter((n) => schedulerInfo(n).usableForGeneration);
const STEPS = [1, 2, 3, 4, 7, 13, 33, 50, 61, 100];
const sd15: SchedulerConfig = golden.meta.sd15_config;
const sd2: SchedulerConfig = { ...sd15, prediction_type: 'v_prediction' };

/** How many model calls a schedule of n steps makes. */
function expectedLength(name: string, n: number, order: number): number {
  if (name === 'PNDMScheduler') return n === 1 ? 1 : n + 1; // PLMS repeats its second timestep
  return order === 2 ? 2 * n - 1 : n;
}

describe.each(USABLE)('%s', (name) => {
  const karrasOptions = schedulerInfo(name).supportsKarrasSigmas ? [false, true] : [false];
  const steps = name === 'LCMScheduler' ? STEPS.filter((n) => n <= 50) : STEPS;

  it.each(steps)('%i steps: schedule shape, finite steps, no per-step allocation', (n) => {
    for (const config of [sd15, sd2]) {
      for (const useKarrasSigmas of karrasOptions) {
        const s = createScheduler(name, config, { useKarrasSigmas });
        s.setTimesteps(n);
        const ts = Array.from(s.timesteps);
        expect(ts).toHaveLength(expectedLength(name, n, s.order));
        // The second-order lists interleave unrounded midpoint timesteps with (Karras-)rounded
        // ones, so there, as in diffusers, they descend only up to that rounding.
        const slack = s.order === 2 ? 0.5 : 0;
        for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeLessThanOrEqual(ts[i - 1] + slack);
        expect(Math.min(...ts)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...ts)).toBeLessThanOrEqual(999);
        if (s.sigmas) {
          expect(s.sigmas.every(Number.isFinite)).toBe(true);
          for (let i = 1; i < s.sigmas.length; i++) expect(s.sigmas[i]).toBeLessThanOrEqual(s.sigmas[i - 1]);
        }
        const noise = new FormulaNoise();
        let x = traceStartSample(s.initNoiseSigma, 2 * 256); // batch 2
        const outputs = new Set<Float32Array>();
        for (const t of s.timesteps) {
          const result = s.step(fakeModelOutput(s.scaleModelInput(x, t), t), t, x, noise);
          expect(result.prevSample.every(Number.isFinite)).toBe(true);
          outputs.add(result.prevSample);
          x = result.prevSample;
        }
        // Two alternating scheduler-owned output buffers, whatever the step count.
        expect(outputs.size).toBeLessThanOrEqual(2);
      }
    }
  });

  it('refuses zero or fractional step counts', () => {
    const s = createScheduler(name, sd15);
    expect(() => s.setTimesteps(0)).toThrow(SchedulerError);
    expect(() => s.setTimesteps(2.5)).toThrow(SchedulerError);
  });
});

it('LCM cannot take more steps than its distillation schedule (original_inference_steps)', () => {
  expect(() => createScheduler('LCMScheduler', sd15).setTimesteps(51)).toThrow(/original_inference_steps 50/);
});

it('a step before setTimesteps is an error, not a crash', () => {
  const s = createScheduler('DDIMScheduler', sd15);
  const x = new Float32Array(4);
  expect(() => s.step(x, 1, x)).toThrow(/setTimesteps/);
});

it('a step keeps its previous output intact (the caller may pass it back as the sample)', () => {
  const s = createScheduler('HeunDiscreteScheduler', sd15);
  s.setTimesteps(5);
  let x = traceStartSample(s.initNoiseSigma);
  const first = s.step(fakeModelOutput(s.scaleModelInput(x, s.timesteps[0]), s.timesteps[0]), s.timesteps[0], x).prevSample;
  const copy = first.slice();
  s.step(fakeModelOutput(s.scaleModelInput(first, s.timesteps[1]), s.timesteps[1]), s.timesteps[1], first);
  expect(first).toEqual(copy);
  x = first;
  expect(x).toBe(first);
});
