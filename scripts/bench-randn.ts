/**
 * Times TorchGenerator.randn for latent-sized draws on both capabilities.
 * Run: npx tsx scripts/bench-randn.ts
 */
import { TorchGenerator, type CpuCapability } from '../src/math/torch-generator.js';

const RUNS = 51;
const WARMUP = 20;
const SHAPES: [string, number][] = [
  ['1x4x64x64 (512px)', 4 * 64 * 64],
  ['2x4x96x96 (768px, 2 samples)', 2 * 4 * 96 * 96],
  ['1x4x128x128 (1024px)', 4 * 128 * 128],
  ['7 (scalar path)', 7],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

const rows: string[][] = [];
for (const capability of ['avx2', 'default'] as CpuCapability[]) {
  for (const [label, numel] of SHAPES) {
    const out = new Float32Array(numel);
    const times: number[] = [];
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const generator = new TorchGenerator(run, { capability });
      const start = process.hrtime.bigint();
      generator.randnInto(out);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (run >= WARMUP) times.push(ms);
    }
    const med = median(times);
    rows.push([capability, label, numel.toString(), med.toFixed(3), ((med * 1e6) / numel).toFixed(1)]);
  }
}

const header = ['capability', 'shape', 'numel', 'median ms', 'ns/value'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
console.log(`(median of ${RUNS} runs after ${WARMUP} warm-up runs, fresh generator per run)`);
