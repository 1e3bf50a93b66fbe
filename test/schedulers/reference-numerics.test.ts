/** The numpy / torch replicas the schedules are built with, checked against diffusers' own tables. */
import { describe, expect, it } from 'vitest';
import { alphasCumprodOf, betasFromConfig, rescaleZeroTerminalSnr } from '../../src/schedulers/betas.js';
import { SchedulerError } from '../../src/schedulers/errors.js';
import { interpAtIndex, numpyArange, numpyLinspace, roundHalfEven, torchLinspaceF32 } from '../../src/schedulers/reference-numerics.js';
import { karrasSigmas, sigmaToTimestep, logSigmasOf, trainingSigmas } from '../../src/schedulers/sigmas.js';
import { spacedTimesteps, spacedTimestepsDroppingZero } from '../../src/schedulers/timesteps.js';
import { golden, num } from './golden.js';

const sd15 = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', trained_betas: null };

describe('training schedule', () => {
  it("SD 1.5's betas and cumulative alphas equal diffusers' float32 tables bit for bit", () => {
    const betas = betasFromConfig(sd15, 'test', ['scaled_linear']);
    expect(Array.from(betas)).toEqual(golden.common.betas.map(num));
    expect(Array.from(alphasCumprodOf(betas))).toEqual(golden.common.alphas_cumprod.map(num));
  });

  it('linear and cosine schedules have the shapes of their definitions', () => {
    const linear = betasFromConfig({ ...sd15, beta_schedule: 'linear', beta_start: 1e-4, beta_end: 0.02 }, 'test', ['linear']);
    expect(linear[0]).toBe(Math.fround(1e-4));
    expect(linear[999]).toBe(Math.fround(0.02));
    const cosine = betasFromConfig({ ...sd15, beta_schedule: 'squaredcos_cap_v2' }, 'test', ['squaredcos_cap_v2']);
    expect(cosine[999]).toBe(Math.fround(0.999)); // capped
    expect(cosine[0]).toBeLessThan(1e-4);
  });

  it('trained betas are taken as given; unknown schedules are refused by name', () => {
    expect(Array.from(betasFromConfig({ ...sd15, trained_betas: [0.1, 0.2] }, 'test', []))).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(() => betasFromConfig({ ...sd15, beta_schedule: 'quadratic' }, 'Test', ['linear'])).toThrow(SchedulerError);
    expect(() => betasFromConfig({ ...sd15, beta_schedule: 'quadratic' }, 'Test', ['linear'])).toThrow(/beta_schedule "quadratic"/);
  });

  it('zero-terminal-SNR rescaling ends at ᾱ = 0 and keeps ᾱ_0', () => {
    const betas = betasFromConfig(sd15, 'test', ['scaled_linear']);
    const rescaled = alphasCumprodOf(rescaleZeroTerminalSnr(betas));
    expect(rescaled[999]).toBe(0);
    expect(rescaled[0]).toBeCloseTo(alphasCumprodOf(betas)[0], 6);
  });
});

describe('numpy / torch replicas', () => {
  it('torch.linspace in float32 is exact at both ends and monotone', () => {
    const v = torchLinspaceF32(1, 1e-5, 20);
    expect(v[0]).toBe(1);
    expect(v[19]).toBe(Math.fround(1e-5));
    for (let i = 1; i < v.length; i++) expect(v[i]).toBeLessThan(v[i - 1]);
    expect(Array.from(torchLinspaceF32(3, 5, 1))).toEqual([3]);
  });

  it('np.round sends halves to the even neighbour', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 937.5, 812.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 938, 812, 2, 3]);
  });

  it('np.arange with a float step can yield one point too many (61 steps of 1000)', () => {
    expect(numpyArange(1000, 0, -1000 / 61)).toHaveLength(62);
    expect(numpyArange(1000, 0, -1000 / 20)).toHaveLength(20);
  });

  it('np.linspace includes its endpoint; np.interp clamps and interpolates', () => {
    expect(Array.from(numpyLinspace(0, 999, 4))).toEqual([0, 333, 666, 999]);
    const fp = [10, 20, 40];
    expect([-1, 0, 0.5, 1.25, 2, 7].map((x) => interpAtIndex(x, fp))).toEqual([10, 10, 15, 25, 40, 40]);
  });
});

describe('timestep spacings', () => {
  const base = { numTrainTimesteps: 1000, steps: 20, stepsOffset: 1, roundLinspace: true };
  it('leading, linspace, trailing (Lin et al. table 2)', () => {
    expect(Array.from(spacedTimesteps({ ...base, spacing: 'leading' })).slice(0, 3)).toEqual([951, 901, 851]);
    expect(Array.from(spacedTimesteps({ ...base, spacing: 'linspace' })).slice(0, 3)).toEqual([999, 946, 894]);
    expect(Array.from(spacedTimesteps({ ...base, spacing: 'trailing' })).slice(-3)).toEqual([149, 99, 49]);
    expect(() => spacedTimesteps({ ...base, spacing: 'random' })).toThrow(/timestep_spacing "random"/);
  });

  it("trailing keeps exactly the requested count where numpy's arange adds a point", () => {
    const t = spacedTimesteps({ ...base, steps: 61, spacing: 'trailing' });
    expect(t).toHaveLength(61);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0);
  });

  it('the multistep solvers space n + 1 points and drop timestep 0', () => {
    expect(Array.from(spacedTimestepsDroppingZero({ ...base, spacing: 'leading' })).slice(0, 2)).toEqual([941, 894]);
    const linspace = spacedTimestepsDroppingZero({ ...base, spacing: 'linspace' });
    expect(linspace).toHaveLength(20);
    expect(linspace[19]).toBeGreaterThan(0);
  });
});

describe('sigmas', () => {
  const table = trainingSigmas(alphasCumprodOf(betasFromConfig(sd15, 'test', ['scaled_linear'])));
  it('Karras sigmas run from σ_max to σ_min, denser near σ_min', () => {
    const s = karrasSigmas(0.03, 14.6, 10);
    expect(s[0]).toBeCloseTo(14.6, 10);
    expect(s[9]).toBeCloseTo(0.03, 10);
    expect(s[8] - s[9]).toBeLessThan(s[0] - s[1]);
  });

  it('σ → t inverts the training sigmas, between neighbours for sigmas in between', () => {
    const logs = logSigmasOf(table);
    expect(sigmaToTimestep(table[500], logs)).toBeCloseTo(500, 3);
    const between = Math.sqrt(table[300] * table[301]);
    const t = sigmaToTimestep(between, logs);
    expect(t).toBeGreaterThan(300);
    expect(t).toBeLessThan(301);
  });
});
