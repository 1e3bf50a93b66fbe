/**
 * The files of a CLIP tokenizer folder: vocab.json (256 byte tokens, their `</w>` forms, one token per merge,
 * then <|startoftext|> and <|endoftext|>), merges.txt (with its `#version` header) and tokenizer_config.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { END_OF_WORD, trainBpe } from './bpe-trainer.js';
import { byteUnicodeOrder } from './bytes-to-unicode.js';
import { builtinWordCounts } from './word-list.js';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';
/** CLIP's merge-file header; loaders skip the first line. */
export const MERGES_HEADER = '#version: 0.2';
/** Enough merges to run the built-in word list to single tokens (it stops earlier when it does). */
const MAX_BUILTIN_MERGES = 4000;

export interface TokenizerFiles {
  /** File name -> contents, written as they are. */
  files: Record<string, string>;
  /** Number of ids (the text encoder's embedding rows). */
  vocabSize: number;
}

function tokenizerConfig(): string {
  const config = {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: 77,
    do_lower_case: true,
    bos_token: START_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    pad_token: END_OF_TEXT,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The vocabulary CLIP derives from a merge list; a merge whose token already exists reuses its id. */
export function clipVocabulary(merges: readonly string[]): Map<string, number> {
  const vocab = new Map<string, number>();
  const add = (token: string) => {
    if (!vocab.has(token)) vocab.set(token, vocab.size);
  };
  const bytes = byteUnicodeOrder().map(({ char }) => char);
  bytes.forEach(add);
  bytes.forEach((char) => add(char + END_OF_WORD));
  for (const merge of merges) add(merge.replace(' ', ''));
  add(START_OF_TEXT);
  add(END_OF_TEXT);
  return vocab;
}

/** A genuine CLIP-format byte-level BPE learned from the built-in word list (deterministic). */
export function builtinTokenizerFiles(): TokenizerFiles {
  const merges = trainBpe(builtinWordCounts(), MAX_BUILTIN_MERGES);
  const vocab = clipVocabulary(merges);
  return {
    files: {
      'vocab.json': JSON.stringify(Object.fromEntries(vocab)),
      'merges.txt': `${[MERGES_HEADER, ...merges].join('\n')}\n`,
      'tokenizer_config.json': tokenizerConfig(),
    },
    vocabSize: vocab.size,
  };
}

/** An existing CLIP tokenizer (vocab.json + merges.txt, tokenizer_config.json when present) copied as is. */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const vocabJson = read('vocab.json');
  const ids = Object.values(JSON.parse(vocabJson) as Record<string, number>);
  let config: string;
  try {
    config = read('tokenizer_config.json');
  } catch {
    config = tokenizerConfig();
  }
  return {
    files: { 'vocab.json': vocabJson, 'merges.txt': read('merges.txt'), 'tokenizer_config.json': config },
    vocabSize: ids.reduce((max, id) => Math.max(max, id), -1) + 1,
  };
}
