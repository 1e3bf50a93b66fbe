/** The registry: names, info for schedulers_list, from_config semantics and request options. */
import { describe, expect, it } from 'vitest';
import { runFakeModelTrace } from '../../src/schedulers/fake-model-trace.js';
import { SCHEDULER_NAMES, SchedulerError, createScheduler, effectiveConfig, schedulerInfo } from '../../src/schedulers/registry.js';
import { golden, num, traceError, variants } from './golden.js';

const CONTRACT_NAMES = [
  'DDPMScheduler',
  'DDIMScheduler',
  'PNDMScheduler',
  'LMSDiscreteScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'HeunDiscreteScheduler',
  'KDPM2DiscreteScheduler',
  'DPMSolverSinglestepScheduler',
  'KDPM2AncestralDiscreteScheduler',
  'UniPCMultistepScheduler',
  'DDIMInverseScheduler',
  'DEISMultistepScheduler',
  'IPNDMScheduler',
  'KarrasVeScheduler',
  'ScoreSdeVeScheduler',
  'LCMScheduler',
];
const KARRAS = [
  'LMSDiscreteScheduler',
  'EulerDiscreteScheduler',
  'HeunDiscreteScheduler',
  'KDPM2DiscreteScheduler',
  'KDPM2AncestralDiscreteScheduler',
  'DPMSolverSinglestepScheduler',
  'DPMSolverMultistepScheduler',
  'UniPCMultistepScheduler',
  'DEISMultistepScheduler',
];
const NOT_FOR_GENERATION = ['DDIMInverseScheduler', 'IPNDMScheduler', 'KarrasVeScheduler', 'ScoreSdeVeScheduler'];

const sd15 = golden.meta.sd15_config;
/** The real SD 1.5 scheduler_config.json has no timestep_spacing. */
const { timestep_spacing: _spacing, ...sd15Real } = sd15;
const variant = (key: string) => variants.find((v) => v.key === key)!;

describe('names and info', () => {
  it('lists the 18 contract names in order', () => {
    expect(SCHEDULER_NAMES).toEqual(CONTRACT_NAMES);
  });

  it('refuses an unknown name with a SchedulerError naming it', () => {
    expect(() => createScheduler('EulerScheduler', sd15)).toThrow(SchedulerError);
    expect(() => createScheduler('EulerScheduler', sd15)).toThrow(/unknown scheduler "EulerScheduler"/);
    expect(() => schedulerInfo('toString')).toThrow(SchedulerError);
  });

  it.each(CONTRACT_NAMES)('%s: usable, Karras support and algorithm types', (name) => {
    const info = schedulerInfo(name);
    expect(info.name).toBe(name);
    expect(info.supportsKarrasSigmas).toBe(KARRAS.includes(name));
    expect(info.usableForGeneration).toBe(!NOT_FOR_GENERATION.includes(name));
    if (info.usableForGeneration) expect(info.reason).toBeUndefined();
    else expect(info.reason!.length).toBeGreaterThan(40);
    expect(info.algorithmTypes).toEqual(name === 'DPMSolverMultistepScheduler' ? ['dpmsolver++', 'sde-dpmsolver++'] : undefined);
  });
});

describe('from_config semantics', () => {
  it.each([
    ['EulerDiscreteScheduler', 'linspace'],
    ['EulerAncestralDiscreteScheduler', 'linspace'],
    ['DPMSolverMultistepScheduler', 'linspace'],
    ['UniPCMultistepScheduler', 'linspace'],
    ['DDIMScheduler', 'leading'],
    ['PNDMScheduler', 'leading'],
    ['DDPMScheduler', 'leading'],
  ])('%s without timestep_spacing in the config runs %s', (name, spacing) => {
    expect(effectiveConfig(name, sd15Real).timestep_spacing).toBe(spacing);
  });

  it("the real SD 1.5 config gives Euler the golden 'linspace' trace and DDIM the 'leading' one", () => {
    for (const [name, key] of [
      ['EulerDiscreteScheduler', 'EulerDiscreteScheduler+linspace'],
      ['DDIMScheduler', 'DDIMScheduler'],
    ]) {
      const run = variant(key).runs['20'];
      const trace = runFakeModelTrace({ scheduler: name, num_inference_steps: 20, config: sd15Real });
      expect(trace.timesteps).toEqual(run.timesteps.map(num));
      expect(traceError(trace, run)).toBeLessThan(1e-6);
    }
  });

  it('ignores keys the class does not accept and takes null as the default', () => {
    const config = { ...sd15, _class_name: 'PNDMScheduler', _diffusers_version: '0.6.0', skip_prk_steps: true, sigma_min: null, foo: [1] };
    const resolved = effectiveConfig('EulerDiscreteScheduler', config);
    expect(resolved).not.toHaveProperty('skip_prk_steps');
    expect(resolved).not.toHaveProperty('_class_name');
    expect(resolved.sigma_min).toBeNull();
    expect(() => createScheduler('EulerDiscreteScheduler', config).setTimesteps(10)).not.toThrow();
  });

  it("EulerDiscreteScheduler's sigma_min / sigma_max bound its Karras sigmas", () => {
    const s = createScheduler('EulerDiscreteScheduler', { ...sd15, sigma_min: 0.1, sigma_max: 10 }, { useKarrasSigmas: true });
    s.setTimesteps(8);
    expect(s.sigmas![0]).toBeCloseTo(10, 5);
    expect(s.sigmas![7]).toBeCloseTo(0.1, 6);
    expect(s.sigmas![8]).toBe(0);
  });

  it('refuses a value of the wrong type, naming the field', () => {
    expect(() => createScheduler('DDIMScheduler', { ...sd15, steps_offset: 'one' })).toThrow(/steps_offset must be a number/);
    expect(() => createScheduler('UniPCMultistepScheduler', { ...sd15, lower_order_final: 'yes' })).toThrow(/lower_order_final/);
    expect(() => createScheduler('EulerDiscreteScheduler', { ...sd15, sigma_min: '0.1' })).toThrow(/sigma_min must be a number or null/);
  });

  it('refuses options it does not implement rather than ignoring them', () => {
    expect(() => createScheduler('DDIMScheduler', { ...sd15, thresholding: true })).toThrow(/thresholding/);
    expect(() => createScheduler('EulerDiscreteScheduler', { ...sd15, use_exponential_sigmas: true })).toThrow(/use_exponential_sigmas/);
    expect(() => createScheduler('EulerDiscreteScheduler', { ...sd15, prediction_type: 'flow' })).toThrow(/prediction_type "flow"/);
  });
});

describe('request options', () => {
  it('use_karras_sigmas applies where diffusers has it, and usesKarrasSigmas says whether it did', () => {
    for (const name of CONTRACT_NAMES) {
      const s = createScheduler(name, sd15, { useKarrasSigmas: true });
      expect(s.usesKarrasSigmas).toBe(KARRAS.includes(name));
      expect(createScheduler(name, sd15, { useKarrasSigmas: false }).usesKarrasSigmas).toBe(false);
    }
  });

  it('"dpmsolver+++" is the SDE variant; dpmsolver++ is the default', () => {
    const sde = variant('DPMSolverMultistepScheduler+sde-dpmsolver++').runs['20'];
    const plain = variant('DPMSolverMultistepScheduler').runs['20'];
    const alias = runFakeModelTrace({ scheduler: 'DPMSolverMultistepScheduler', algorithm_type: 'dpmsolver+++', num_inference_steps: 20, config: sd15 });
    expect(traceError(alias, sde)).toBeLessThan(1e-4);
    expect(alias.noise_draws).toBe(20);
    const byDefault = runFakeModelTrace({ scheduler: 'DPMSolverMultistepScheduler', num_inference_steps: 20, config: sd15 });
    expect(traceError(byDefault, plain)).toBeLessThan(1e-4);
    expect(byDefault.noise_draws).toBe(0);
  });

  it('an unknown algorithm_type is a SchedulerError naming the field', () => {
    const make = () => createScheduler('DPMSolverMultistepScheduler', sd15, { algorithmType: 'dpmsolver' });
    expect(make).toThrow(SchedulerError);
    expect(make).toThrow(/algorithm_type "dpmsolver"/);
  });

  it('timestep_spacing overrides the config', () => {
    const trailing = variant('EulerDiscreteScheduler+trailing').runs['20'];
    const trace = runFakeModelTrace({ scheduler: 'EulerDiscreteScheduler', timestep_spacing: 'trailing', num_inference_steps: 20, config: sd15 });
    expect(trace.timesteps).toEqual(trailing.timesteps.map(num));
  });

  it('the steps draw noise only where diffusers does, and fail clearly without a noise source', () => {
    const s = createScheduler('EulerAncestralDiscreteScheduler', sd15);
    s.setTimesteps(4);
    const x = new Float32Array(8);
    expect(() => s.step(x, s.timesteps[0], x)).toThrow(/NoiseSource/);
  });
});
