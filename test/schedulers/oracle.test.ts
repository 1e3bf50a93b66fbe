/**
 * Step counts, spacings and configs the golden file does not cover, checked against what the
 * samplers must do mathematically: with an oracle model whose prediction is exact for a fixed
 * (x0, ε), every deterministic sampler stays on the trajectory x_t = α_t·x0 + σ_t·ε and ends at
 * its final noise level — x0 itself where the schedule ends at σ = 0. Covers ε and v prediction
 * (SD 2.x), Karras sigmas, every spacing and img2img starts (setBeginIndex + addNoise).
 */
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/schedulers/registry.js';
import type { Scheduler, SchedulerConfig } from '../../src/schedulers/types.js';
import { golden, num } from './golden.js';

const N = 256;
// Probes: element 0 is pure signal, element 1 pure noise, so the model input reveals α_t and σ_t.
const x0 = Float32Array.from({ length: N }, (_, j) => (j === 0 ? 1 : j === 1 ? 0 : 0.8 * Math.sin(0.3 * j)));
const eps = Float32Array.from({ length: N }, (_, j) => (j === 0 ? 0 : j === 1 ? 1 : Math.cos(0.77 * j + 0.4)));

function oracle(prediction: 'epsilon' | 'v_prediction', xIn: Float32Array): Float32Array {
  if (prediction === 'epsilon') return eps;
  const [alpha, sigma] = [xIn[0], xIn[1]];
  return eps.map((e, j) => alpha * e - sigma * x0[j]);
}

/** Runs from timesteps[begin] and returns the final sample. */
function denoise(s: Scheduler, prediction: 'epsilon' | 'v_prediction', begin = 0): Float32Array {
  const timesteps = s.timesteps.subarray(begin);
  if (begin > 0) s.setBeginIndex(begin);
  let x = s.addNoise(x0, eps, timesteps[0]);
  for (const t of timesteps) x = s.step(oracle(prediction, s.scaleModelInput(x, t)), t, x).prevSample.slice();
  return x;
}

function maxError(actual: Float32Array, expected: Float32Array): number {
  let e = 0;
  for (let j = 0; j < N; j++) e = Math.max(e, Math.abs(actual[j] - expected[j]));
  return e;
}

/** α·x0 + σ·ε, the trajectory point at VP coefficients α, σ. */
const onTrajectory = (alpha: number, sigma: number) => x0.map((v, j) => alpha * v + sigma * eps[j]);

/**
 * Where a sampler stops: σ = 0 (x0) for most; ᾱ_0 for DDIM / PNDM (set_alpha_to_one false);
 * DEIS at its last sigma (σ_min, or the last Karras sigma).
 */
function expectedFinal(name: string, s: Scheduler): Float32Array {
  if (name === 'DDIMScheduler' || name === 'PNDMScheduler') {
    const ac0 = num(golden.common.alphas_cumprod[0]);
    return onTrajectory(Math.sqrt(ac0), Math.sqrt(1 - ac0));
  }
  if (name === 'DEISMultistepScheduler') {
    const sigma = s.sigmas![s.sigmas!.length - 1];
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    return onTrajectory(alpha, sigma * alpha);
  }
  return x0;
}

const DETERMINISTIC = [
  'DDIMScheduler',
  'PNDMScheduler',
  'LMSDiscreteScheduler',
  'EulerDiscreteScheduler',
  'HeunDiscreteScheduler',
  'KDPM2DiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'DPMSolverSinglestepScheduler',
  'UniPCMultistepScheduler',
  'DEISMultistepScheduler',
];
const KARRAS = new Set(DETERMINISTIC.filter((n) => !['DDIMScheduler', 'PNDMScheduler'].includes(n)));
const STEPS = [1, 2, 3, 7, 25, 61];

const sd15: SchedulerConfig = { ...golden.meta.sd15_config };
delete sd15.timestep_spacing;
/** stabilityai/stable-diffusion-2's scheduler_config.json: v-prediction. */
const sd2: SchedulerConfig = {
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'v_prediction',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};

/**
 * DDIM and PNDM step back by T / n whatever the spacing, so only `leading` keeps them on the
 * trajectory; PNDM's multistep on raw v outputs of different noise levels is inexact by design.
 */
const STRIDE_BOUND = ['DDIMScheduler', 'PNDMScheduler'];
const cases = DETERMINISTIC.flatMap((name) =>
  [false, true]
    .filter((k) => !k || KARRAS.has(name))
    .flatMap((karras) =>
      (['leading', 'linspace', 'trailing'] as const)
        .filter((spacing) => spacing === 'leading' || !STRIDE_BOUND.includes(name))
        .map((spacing) => ({ name, karras, spacing })),
    ),
);

describe.each(cases)('$name karras=$karras $spacing', ({ name, karras, spacing }) => {
  it.each(STEPS)('%i steps, ε and v prediction, end on the trajectory', (steps) => {
    const runs = [
      [sd15, 'epsilon'],
      [sd2, 'v_prediction'],
    ] as const;
    for (const [config, prediction] of runs.filter(([, p]) => p === 'epsilon' || name !== 'PNDMScheduler')) {
      const s = createScheduler(name, config, { useKarrasSigmas: karras, timestepSpacing: spacing });
      s.setTimesteps(steps);
      expect(maxError(denoise(s, prediction), expectedFinal(name, s))).toBeLessThan(1e-4);
    }
  });
});

// PNDM and LMS are left out: diffusers' PNDM img2img skips its repeated PLMS timestep and LMS
// applies its order-4 weights to the first derivatives, so neither stays on the trajectory.
const IMG2IMG = DETERMINISTIC.filter((n) => n !== 'PNDMScheduler' && n !== 'LMSDiscreteScheduler');

describe.each(IMG2IMG)('%s img2img (setBeginIndex, addNoise)', (name) => {
  it.each([
    [10, 0.6],
    [25, 0.3],
    [7, 0.99],
  ])('%i steps at strength %f end on the trajectory', (steps, strength) => {
    const s = createScheduler(name, sd15, { useKarrasSigmas: KARRAS.has(name) });
    s.setTimesteps(steps);
    const begin = (steps - Math.min(Math.floor(steps * strength), steps)) * s.order;
    expect(maxError(denoise(s, 'epsilon', begin), expectedFinal(name, s))).toBeLessThan(1e-4);
  });
});
