/**
 * Runs the golden README's fake-model loop for one case and prints the trace as JSON.
 *
 *   npx tsx scripts/scheduler-trace.ts < case.json
 *
 * case.json: {"scheduler": NAME, "use_karras_sigmas": bool, "algorithm_type": str|null,
 *             "timestep_spacing": str|null, "num_inference_steps": N, "config": {...diffusers config...}}
 * prints:    {"timesteps", "sigmas", "init_noise_sigma", "samples_per_step", "final_sample", "noise_draws", ...}
 */
import { readFileSync } from 'node:fs';
import { runFakeModelTrace, type TraceCase } from '../src/schedulers/fake-model-trace.js';

function main(): void {
  const input = readFileSync(0, 'utf8');
  let trace: unknown;
  try {
    trace = runFakeModelTrace(JSON.parse(input) as TraceCase);
  } catch (err) {
    process.stderr.write(`scheduler-trace: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(trace)}\n`);
}

main();
