/**
 * Writes the tiny SDXL set: `npx tsx scripts/tiny-models/sdxl/cli.ts --out models` -> models/tiny-sdxl/
 * (not part of `npm run models` / generate.ts's default sets).
 */
import { resolve } from 'node:path';
import { writeTinySdxl } from './generate-sdxl.js';

const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = at >= 0 ? args[at + 1] : undefined;
if (out === undefined || args.length !== 2) {
  console.error('usage: cli.ts --out <models folder>');
  process.exit(2);
}
const files = writeTinySdxl(resolve(out));
const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
console.log(`wrote ${files.length} files (${(bytes / 1e6).toFixed(1)} MB) to ${resolve(out, 'tiny-sdxl')}`);
