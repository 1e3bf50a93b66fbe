/**
 * Every scheduler, variant and recorded step count of test/fixtures/golden/schedulers.json (diffusers
 * 0.35.2), driven through the same fake model, start sample and noise draws: timesteps, sigmas,
 * init_noise_sigma and every per-step sample must match.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FormulaNoise, fakeModelOutput, runFakeModelTrace, traceStartSample } from '../../src/schedulers/fake-model-trace.js';
import { effectiveConfig } from '../../src/schedulers/registry.js';
import { caseFor, num, relError, scheduleError, traceError, variants } from './golden.js';

/** Relative tolerance of the brief; the traces reach float32 level (≈1e-6, see the summary). */
const TOLERANCE = 1e-4;
/**
 * Variants whose every sample is bit-identical to diffusers' since torch's float32 exp/log (SLEEF)
 * and numpy's float32 log are reproduced (src/math/sleef-float32.ts, numpy-float32.ts); the rest
 * (UniPC's expm1, IPNDM, score SDE) stay within 2e-5.
 */
const sampleTolerance = (key: string) => (/^(UniPC|IPNDM|ScoreSdeVe)/.test(key) ? 2e-5 : 0);

const worst = new Map<string, number>();
const note = (key: string, err: number) => worst.set(key, Math.max(worst.get(key) ?? 0, err));

const sampled = variants.filter((v) => !v.not_for_sd);
const veOnly = variants.filter((v) => v.not_for_sd);

describe.each(sampled)('$key', (v) => {
  it.each(Object.keys(v.runs))('%s steps: schedule and every sample match diffusers', (steps) => {
    const run = v.runs[steps];
    const trace = runFakeModelTrace(caseFor(v, Number(steps)));
    expect(scheduleError(trace.timesteps, run.timesteps)).toBeLessThan(TOLERANCE);
    expect(scheduleError(trace.sigmas, run.sigmas ?? null)).toBeLessThan(TOLERANCE);
    expect(trace.init_noise_sigma).toBeCloseTo(run.init_noise_sigma, 6);
    expect(trace.samples_per_step).toHaveLength(run.samples_per_step!.length);
    const err = traceError(trace, run);
    note(v.key, err);
    expect(err).toBeLessThanOrEqual(sampleTolerance(v.key));
    expect(relError(trace.final_sample!, run.final_sample!)).toBeLessThanOrEqual(sampleTolerance(v.key));
    // Noise is drawn exactly when diffusers draws it.
    expect(trace.noise_draws).toBe(run.noise_draws ?? 0);
    if (run.denoised_per_step) {
      run.denoised_per_step.forEach((d, i) => expect(relError(trace.denoised_per_step![i], d)).toBeLessThan(TOLERANCE));
    }
  });

  it("resolves SD 1.5's config to diffusers' effective config", () => {
    const c = caseFor(v, 1);
    const resolved = effectiveConfig(v.class, c.config, {
      useKarrasSigmas: c.use_karras_sigmas ?? undefined,
      algorithmType: c.algorithm_type,
      timestepSpacing: c.timestep_spacing as 'leading' | 'linspace' | 'trailing' | null,
    });
    const expected: Record<string, unknown> = { ...v.config };
    // JSON has no infinity: the oracle wrote Python's -inf as a string.
    if (expected.lambda_min_clipped === '-Infinity') expected.lambda_min_clipped = -Infinity;
    // diffusers switches DPMSolverSinglestep's lower_order_final on inside set_timesteps
    // (final_sigmas_type "zero"); the recorded config was read after the runs.
    if (v.class === 'DPMSolverSinglestepScheduler') expected.lower_order_final = resolved.lower_order_final;
    expect(resolved).toEqual(expected);
  });
});

describe.each(veOnly)('$key (variance exploding: schedules only)', (v) => {
  it.each(Object.keys(v.runs))('%s steps: timesteps, sigmas and schedules match diffusers', (steps) => {
    const run = v.runs[steps];
    const trace = runFakeModelTrace(caseFor(v, Number(steps), v.config));
    expect(trace.not_for_sd).toMatch(/variance-exploding/);
    expect(trace.samples_per_step).toEqual([]);
    expect(scheduleError(trace.timesteps, run.timesteps)).toBeLessThan(TOLERANCE);
    expect(scheduleError(trace.sigmas, run.sigmas ?? null)).toBeLessThan(TOLERANCE);
    expect(scheduleError(trace.schedules?.schedule ?? null, run.schedule ?? null)).toBeLessThan(TOLERANCE);
    expect(scheduleError(trace.schedules?.discrete_sigmas ?? null, run.discrete_sigmas ?? null)).toBeLessThan(TOLERANCE);
    expect(trace.init_noise_sigma).toBe(num(run.init_noise_sigma));
    note(v.key, Math.max(scheduleError(trace.timesteps, run.timesteps), scheduleError(trace.sigmas, run.sigmas ?? null)));
  });
});

describe('the fake-model loop', () => {
  it.each(['EulerAncestralDiscreteScheduler', 'LCMScheduler', 'KDPM2AncestralDiscreteScheduler'])(
    '%s: start sample and noise draws are the recorded ones',
    (key) => {
      const run = variants.find((x) => x.key === key)!.runs['20'];
      expect(traceStartSample(run.init_noise_sigma)).toEqual(Float32Array.from(run.initial_sample!, num));
      const noise = new FormulaNoise();
      for (const draws of run.noise!) {
        for (const d of draws) expect(noise.randn(256)).toEqual(Float32Array.from(d.values, num));
      }
    },
  );

  it('the fake model is the README formula in float32', () => {
    const x = Float32Array.of(0.5, -1.25, 3);
    const t = 951;
    const out = fakeModelOutput(x, t);
    x.forEach((v, i) => expect(out[i]).toBe(Math.fround(Math.fround(v * Math.fround(0.3 * Math.cos(t / 200))) + Math.fround(0.05 * Math.sin(t / 37)))));
  });
});

afterAll(() => {
  const rows = [...worst.entries()].map(([key, err]) => `${key.padEnd(52)} ${err.toExponential(2)}`);
  console.log(`worst relative error per variant (max |Δ| / max |reference| over all steps):\n${rows.join('\n')}`);
});
