import path from 'node:path';
import { generateModelSets, generateSdxlSet, generateUpscalerSet } from '../scripts/tiny-models/generate.js';
import { writeDefaultAliases } from '../src/runtime/default-models.js';

/** Writes the tiny model sets once per test run (skipped in ~0.1 s when their stamp matches). */
export default function setup() {
  generateModelSets({ out: path.resolve('models') });
  generateSdxlSet({ out: path.resolve('models') });
  generateUpscalerSet({ out: path.resolve('models') });
  writeDefaultAliases(path.resolve('models'));
}
