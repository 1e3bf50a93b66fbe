import path from 'node:path';
import { generateModelSets } from '../src/onnx-builder/generate.js';

/** Writes the tiny model sets once per test run (skipped in ~0.1 s when their stamp matches). */
export default function setup() {
  generateModelSets({ out: path.resolve('models') });
}
