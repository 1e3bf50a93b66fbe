/**
 * diffusers < 0.28's UniPC (no `final_sigmas_type`; it always ended at σ_min: the last Karras sigma, or the smallest
 * training sigma) is this server's UniPC with `final_sigmas_type: "sigma_min"` in the scheduler config — the setting
 * the parity test uses for its diffusers 0.27.2 fixtures. Traces of diffusers 0.27.2 on the golden fake-model loop
 * (test/fixtures/unipc-0.27.2-sigma-min.json, made by scripts/reference/make-unipc-sigma-min.py), ε and v.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFakeModelTrace } from '../../src/schedulers/fake-model-trace.js';
import type { SchedulerConfig } from '../../src/schedulers/types.js';

interface Run {
  prediction_type: string;
  use_karras_sigmas: boolean;
  steps: number;
  timesteps: number[];
  sigmas: number[];
  final_sample: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/unipc-0.27.2-sigma-min.json', import.meta.url), 'utf8')) as {
  config: SchedulerConfig;
  runs: Run[];
};

function run(r: Run, extra: SchedulerConfig) {
  return runFakeModelTrace({
    scheduler: 'UniPCMultistepScheduler',
    use_karras_sigmas: r.use_karras_sigmas,
    num_inference_steps: r.steps,
    config: { ...fixture.config, prediction_type: r.prediction_type, ...extra },
  });
}

/** max |a − b| / max |b|. */
function relative(a: number[], b: number[]): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe.each(fixture.runs.map((r) => [`${r.prediction_type}, karras ${r.use_karras_sigmas}, ${r.steps} steps`, r] as const))(
  'UniPC as diffusers 0.27.2 (%s)',
  (_label, r) => {
    it('final_sigmas_type "sigma_min" gives its schedule and final sample', () => {
      const trace = run(r, { final_sigmas_type: 'sigma_min' });
      expect(trace.timesteps).toEqual(r.timesteps);
      expect(trace.sigmas!.map(Math.fround)).toEqual(r.sigmas.map(Math.fround));
      // UniPC's small solves round a little differently from torch's (README: ≤ 9e-7 relative).
      expect(relative(trace.final_sample!, r.final_sample)).toBeLessThan(1e-6);
    });

    it('the default ("zero", diffusers >= 0.28) ends elsewhere', () => {
      const trace = run(r, {});
      expect(trace.sigmas!.at(-1)).toBe(0);
      expect(relative(trace.final_sample!, r.final_sample)).toBeGreaterThan(1e-4);
    });
  },
);
