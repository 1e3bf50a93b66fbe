/**
 * Writes the built-in tiny CLIP tokenizer (the one the tiny test models use) to a folder, for
 * scripts/reference/make-parity.py: `npx tsx scripts/reference/write-tokenizer.ts <dir> [--pad <token>]`.
 * `--pad '!'` gives SDXL's tokenizer_2 setting (pads with "!" instead of <|endoftext|>).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinTokenizerFiles } from '../tiny-models/tokenizer/clip-tokenizer-files.js';

const [dir, flag, pad] = process.argv.slice(2);
if (!dir || (flag !== undefined && (flag !== '--pad' || !pad))) {
  console.error('usage: write-tokenizer.ts <dir> [--pad <token>]');
  process.exit(2);
}
const { files, vocabSize } = builtinTokenizerFiles();
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(files)) {
  let contents = text;
  if (name === 'tokenizer_config.json' && pad) {
    contents = `${JSON.stringify({ ...JSON.parse(text), pad_token: pad }, null, 2)}\n`;
  }
  writeFileSync(join(dir, name), contents);
}
console.log(JSON.stringify({ vocabSize }));
