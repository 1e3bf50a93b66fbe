/**
 * Times float32 <-> float16 conversion on tensor sizes the pipeline moves.
 * Run: npx tsx scripts/bench-float16.ts
 */
import { float16ToFloat32, float32ToFloat16 } from '../src/tensor/float16.js';

const RUNS = 21;
const WARMUP = 5;
const SIZES: [string, number][] = [
  ['latents 2x4x64x64', 2 * 4 * 64 * 64],
  ['text embeddings 2x77x768', 2 * 77 * 768],
  ['ControlNet residuals, 512px CFG', 13_434_880], // sum of the 13 residuals' elements at batch 2
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function time(fn: () => void): number {
  const times: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const start = process.hrtime.bigint();
    fn();
    if (run >= WARMUP) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

const rows: string[][] = [];
for (const [label, n] of SIZES) {
  const f32 = new Float32Array(n);
  for (let i = 0; i < n; i++) f32[i] = Math.sin(i * 0.37) * 3;
  const f16 = new Uint16Array(n);
  const back = new Float32Array(n);
  const toHalf = time(() => float32ToFloat16(f32, f16));
  const toFloat = time(() => float16ToFloat32(f16, back));
  for (const [direction, ms] of [
    ['float32 -> float16', toHalf],
    ['float16 -> float32', toFloat],
  ] as const) {
    rows.push([label, n.toString(), direction, ms.toFixed(3), ((ms * 1e6) / n).toFixed(2)]);
  }
}

const header = ['tensor', 'elements', 'direction', 'median ms', 'ns/element'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
console.log(`(median of ${RUNS} runs after ${WARMUP} warm-up runs, preallocated outputs)`);
