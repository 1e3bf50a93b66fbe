/**
 * Generates the project's ONNX model sets (random weights, real SD-1.x I/O conventions).
 *
 *   npx tsx scripts/gen-tiny-models.ts [--out models] [--config tiny|sd15] [--fp16 | --only fp32|fp16]
 *                                      [--controlnets canny,depth] [--tokenizer-from DIR] [--force]
 *
 * The default (tiny) also writes the tiny SDXL set, tiny-sdxl, and the built-in upscaler, upscalers/tiny-x2. Skips a set whose stamp (<out>/.generated.json) matches; --force rewrites it.
 */
import { parseArgs } from 'node:util';
import { generateModelSets, generateSdxlSet, generateUpscalerSet, type Variant } from './tiny-models/generate.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'models' },
    config: { type: 'string', default: 'tiny' },
    fp16: { type: 'boolean', default: false },
    only: { type: 'string' },
    controlnets: { type: 'string' },
    'tokenizer-from': { type: 'string' },
    force: { type: 'boolean', default: false },
  },
});

function variants(): Variant[] | undefined {
  if (values.fp16 && values.only !== undefined && values.only !== 'fp16') throw new Error('--fp16 contradicts --only');
  if (values.fp16) return ['fp16'];
  if (values.only === undefined) return undefined;
  if (values.only !== 'fp32' && values.only !== 'fp16') throw new Error(`--only takes fp32 or fp16, not "${values.only}"`);
  return [values.only];
}

if (values.config !== 'tiny' && values.config !== 'sd15') throw new Error(`--config takes tiny or sd15, not "${values.config}"`);

const started = performance.now();
const sets = generateModelSets({
  out: values.out,
  config: values.config,
  variants: variants(),
  force: values.force,
  tokenizerFrom: values['tokenizer-from'],
  controlnets: values.controlnets
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
  log: (line) => console.log(line),
});
if (values.config === 'tiny' && values.controlnets === undefined) {
  sets.push(generateSdxlSet({ out: values.out, force: values.force, log: (line) => console.log(line) }));
  sets.push(generateUpscalerSet({ out: values.out, force: values.force, log: (line) => console.log(line) }));
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
for (const set of sets) {
  const total = set.files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(`\n${set.key} -> ${values.out}/${set.folder}: ${set.files.length} files, ${mib(total)} MiB${set.skipped ? ' (unchanged)' : ''}`);
  for (const f of set.files.filter((file) => file.bytes > 64 * 1024)) console.log(`  ${mib(f.bytes).padStart(9)} MiB  ${f.path}`);
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(2)} s`);
