/** The reference data the tests compare with, kept in the repository (see test/fixtures/golden/README.md). */
import { fileURLToPath } from 'node:url';

/** test/fixtures/golden/: scheduler traces, torch randn values. */
export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));
/** The real CLIP vocabulary (vocab.json, merges.txt) and OpenAI-tokenizer golden ids (golden.json). */
export const CLIP_TOKENIZER_DIR = fileURLToPath(new URL('../fixtures/golden/clip-tokenizer/', import.meta.url));
