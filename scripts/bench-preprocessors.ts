/**
 * Times the pure-TypeScript hint preprocessors on a 512×512 photo (the astronaut fixture upscaled):
 * makeHint end to end (detect resolution 512, output 512×512, so no resizing around the detector) and the
 * detector cores alone. Prints the median, min and max of several runs after one warm-up run.
 *
 *   npx tsx scripts/bench-preprocessors.ts [--runs 9]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { RawImage } from '../src/image/types.js';
import { cannyEdges } from '../src/preprocessors/canny-edges.js';
import { contentShuffle } from '../src/preprocessors/content-shuffle.js';
import { detectSegments } from '../src/preprocessors/lsd/lsd.js';
import { seededRandom } from '../src/preprocessors/prng.js';
import { makeHint, PURE_HINT_TYPES } from '../src/preprocessors/registry.js';
import { rgbToGray } from '../src/preprocessors/rgb.js';
import { thickenLines } from '../src/preprocessors/scribble.js';

const SIZE = 512;

async function loadPhoto(): Promise<RawImage> {
  const path = fileURLToPath(new URL('../test/fixtures/astronaut.png', import.meta.url));
  const { data, info } = await sharp(path).resize(SIZE, SIZE, { kernel: 'lanczos3' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

async function time(runs: number, task: () => unknown): Promise<number[]> {
  await task();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await task();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, got ${values.runs}`);

  const photo = await loadPhoto();
  const mask: RawImage = { data: new Uint8Array(SIZE * SIZE).map((_, i) => (i % SIZE < SIZE / 2 ? 255 : 0)), width: SIZE, height: SIZE, channels: 1 };
  const gray = Float64Array.from(rgbToGray(photo));
  const edges = cannyEdges(photo, 100, 200);

  const rows: [string, number[]][] = [];
  for (const type of PURE_HINT_TYPES) {
    rows.push([`makeHint ${type}`, await time(runs, () => makeHint(type, photo, { width: SIZE, height: SIZE, mask, seed: 1 }))]);
  }
  rows.push(['core cannyEdges (RGB)', await time(runs, () => cannyEdges(photo, 100, 200))]);
  rows.push(['core LSD detectSegments (luma)', await time(runs, () => detectSegments({ data: gray, width: SIZE, height: SIZE }))]);
  rows.push(['core contentShuffle', await time(runs, () => contentShuffle(photo, seededRandom(1)))]);
  rows.push(['core thickenLines (scribble)', await time(runs, () => thickenLines(edges, SIZE, SIZE))]);

  const name = Math.max(...rows.map(([n]) => n.length));
  const fmt = (ms: number) => ms.toFixed(2).padStart(9);
  console.log(`${SIZE}x${SIZE} RGB, ${runs} runs after 1 warm-up, node ${process.version}`);
  console.log(`| ${'preprocessor'.padEnd(name)} | median ms |    min ms |    max ms |`);
  console.log(`| ${'-'.repeat(name)} | --------: | --------: | --------: |`);
  for (const [label, s] of rows) {
    console.log(`| ${label.padEnd(name)} | ${fmt(s[Math.floor(s.length / 2)])} | ${fmt(s[0])} | ${fmt(s[s.length - 1])} |`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench-preprocessors: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
