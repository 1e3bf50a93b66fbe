/**
 * Times loading CLIP's tokenizer (vocab.json + merges.txt, 49408 tokens) and encoding prompts.
 * Run: npx tsx scripts/bench-clip-tokenizer.ts [tokenizer folder, default test/fixtures/golden/clip-tokenizer]
 */
import { fileURLToPath } from 'node:url';
import { ClipTokenizer } from '../src/tokenizer/clip-tokenizer.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/golden/clip-tokenizer', import.meta.url));
const LOADS = 5;
const ENCODES = 2001;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

const loadTimes: number[] = [];
let tokenizer: ClipTokenizer | undefined;
for (let i = 0; i < LOADS; i++) {
  const start = performance.now();
  tokenizer = await ClipTokenizer.fromFolder(dir);
  loadTimes.push(performance.now() - start);
}

const prompts = [
  'a photo of a cat',
  'mdjrny-v4 style portrait of a woman, (masterpiece:1.2), best quality, ultra detailed, 8k, sharp focus',
  Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '), // truncated
];
const rows: string[][] = [['load fromFolder', `${LOADS} runs`, median(loadTimes).toFixed(1), 'ms']];
for (const prompt of prompts) {
  for (let i = 0; i < 100; i++) tokenizer!.encode(prompt); // warm-up (JIT and BPE word cache)
  const times: number[] = [];
  for (let i = 0; i < ENCODES; i++) {
    const start = performance.now();
    tokenizer!.encode(prompt);
    times.push(performance.now() - start);
  }
  const label = prompt.length > 40 ? `${prompt.slice(0, 37)}...` : prompt;
  rows.push([`encode "${label}"`, `${tokenizer!.tokenIds(prompt).length} tokens`, (median(times) * 1000).toFixed(1), 'µs']);
}

const header = ['operation', 'size', 'median', 'unit'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
console.log(`(loads: median of ${LOADS}; encodes: median of ${ENCODES} after 100 warm-up calls)`);
