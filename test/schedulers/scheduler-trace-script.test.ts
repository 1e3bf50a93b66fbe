/** scripts/scheduler-trace.ts, run as a process the way a person would run it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { TraceResult } from '../../src/schedulers/fake-model-trace.js';
import { caseFor, scheduleError, traceError, variants } from './golden.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

function runScript(input: string) {
  return spawnSync(tsx, ['scripts/scheduler-trace.ts'], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
}

it('prints the trace of a case read from stdin, matching diffusers', () => {
  const v = variants.find((x) => x.key === 'DPMSolverMultistepScheduler+sde-dpmsolver+++karras')!;
  const result = runScript(JSON.stringify(caseFor(v, 20)));
  expect(result.status).toBe(0);
  const trace = JSON.parse(result.stdout) as TraceResult;
  const run = v.runs['20'];
  expect(scheduleError(trace.timesteps, run.timesteps)).toBe(0);
  expect(scheduleError(trace.sigmas, run.sigmas)).toBe(0);
  expect(trace.samples_per_step).toHaveLength(20);
  expect(trace.final_sample).toEqual(trace.samples_per_step[19]);
  expect(traceError(trace, run)).toBeLessThan(1e-4);
});

it('fails with a message and status 1 on a bad case', () => {
  const result = runScript(JSON.stringify({ scheduler: 'NoSuchScheduler', num_inference_steps: 4, config: {} }));
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/unknown scheduler "NoSuchScheduler"/);
});
