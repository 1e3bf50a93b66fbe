/**
 * 30-step fake-model traces of diffusers 0.35.2 (test/fixtures/scheduler-traces-30.json, made by
 * test/fixtures/make-scheduler-traces.py with torch 1.13): the step count the hosted API uses by
 * default, where the SDE and ancestral samplers used to drift by up to 3e-4. torch's float32
 * `exp`/`log` (SLEEF) and numpy's float32 `log` are reproduced, so every value is bit-identical.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFakeModelTrace } from '../../src/schedulers/fake-model-trace.js';
import type { SchedulerConfig } from '../../src/schedulers/types.js';

interface Variant {
  class: string;
  overrides: { algorithm_type?: string; use_karras_sigmas?: boolean };
  timesteps: number[];
  sigmas: number[];
  noise_draws: number;
  final_sample: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/scheduler-traces-30.json', import.meta.url), 'utf8')) as {
  steps: number;
  variants: Record<string, Variant>;
};

/** SD 1.5's scheduler_config.json, the config the traces were made with. */
const SD15: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  trained_betas: null,
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
  skip_prk_steps: true,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
};

describe.each(Object.entries(fixture.variants))('%s at 30 steps', (_key, v) => {
  it('reproduces diffusers bit for bit: timesteps, sigmas, noise draws and the final sample', () => {
    const trace = runFakeModelTrace({
      scheduler: v.class,
      use_karras_sigmas: v.overrides.use_karras_sigmas ?? null,
      algorithm_type: v.overrides.algorithm_type ?? null,
      num_inference_steps: fixture.steps,
      config: SD15,
    });
    expect(trace.timesteps).toEqual(v.timesteps.map(Math.fround));
    expect(trace.sigmas!.map(Math.fround)).toEqual(v.sigmas.map(Math.fround));
    expect(trace.noise_draws).toBe(v.noise_draws);
    expect(Float32Array.from(trace.final_sample!)).toEqual(Float32Array.from(v.final_sample));
  });
});
