/**
 * Per-step cost of every scheduler usable for generation on an SD latent: 4×64×64 (512² images),
 * batch 1 and 2. Each figure is the median over several 20-step runs of scaleModelInput + step,
 * the model output being a fixed tensor (the UNet is not part of the measure) and the noise
 * source a pre-drawn tensor (drawing noise is the generator's cost, not the scheduler's).
 *
 *   npx tsx scripts/bench-schedulers.ts [runs=9]
 */
import { SCHEDULER_NAMES, createScheduler, schedulerInfo } from '../src/schedulers/registry.js';
import type { NoiseSource, SchedulerConfig } from '../src/schedulers/types.js';

const SD15: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
  skip_prk_steps: true,
};
const STEPS = 20;
const LATENT = 4 * 64 * 64;
const runs = Number(process.argv[2] ?? 9);

function filled(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + seed));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const WARMUP_RUNS = 5;

/** Median microseconds per step of `name` over `runs` full schedules, after JIT warm-up runs. */
function perStepMicros(name: string, numel: number, options = {}): number {
  const modelOutput = filled(numel, 1);
  const start = filled(numel, 2);
  const drawn = filled(numel, 3);
  const noise: NoiseSource = { randn: () => drawn };
  const s = createScheduler(name, SD15, options);
  const times: number[] = [];
  for (let r = 0; r < WARMUP_RUNS + runs; r++) {
    s.setTimesteps(STEPS);
    let x = start;
    const t0 = performance.now();
    for (const t of s.timesteps) {
      s.scaleModelInput(x, t);
      x = s.step(modelOutput, t, x, noise).prevSample;
    }
    const elapsed = performance.now() - t0;
    if (r >= WARMUP_RUNS) times.push((elapsed * 1000) / s.timesteps.length);
  }
  return median(times);
}

const rows: [string, number, number][] = [];
const variants: [string, string, object][] = SCHEDULER_NAMES.filter((n) => schedulerInfo(n).usableForGeneration).map((n) => [n, n, {}]);
variants.push(['DPMSolverMultistepScheduler (sde-dpmsolver++)', 'DPMSolverMultistepScheduler', { algorithmType: 'sde-dpmsolver++' }]);
variants.push(['UniPCMultistepScheduler (karras)', 'UniPCMultistepScheduler', { useKarrasSigmas: true }]);
for (const [label, name, options] of variants) {
  rows.push([label, perStepMicros(name, LATENT, options), perStepMicros(name, 2 * LATENT, options)]);
}

console.log(`per-step time (µs, median of ${runs} runs of ${STEPS} steps), latent 4×64×64`);
console.log(`| ${'scheduler'.padEnd(46)} | batch 1 | batch 2 |`);
console.log(`| ${'-'.repeat(46)} | ------: | ------: |`);
for (const [label, b1, b2] of rows) {
  console.log(`| ${label.padEnd(46)} | ${b1.toFixed(0).padStart(7)} | ${b2.toFixed(0).padStart(7)} |`);
}
