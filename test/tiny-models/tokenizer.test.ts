/**
 * The generated CLIP tokenizer files: CLIP's layout (checked against the real vocabulary's first 512 ids) and a
 * working byte-level BPE, loaded by an independent implementation (@huggingface/tokenizers) with CLIP's
 * tokenizer.json recipe, which first reproduces the real vocabulary's golden ids.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../scripts/tiny-models/tokenizer/bpe-trainer.js';
import { builtinTokenizerFiles, MERGES_HEADER } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { CLIP_TOKENIZER_DIR } from '../helpers/golden.js';

const SHARED = CLIP_TOKENIZER_DIR;

/** openai/clip-vit-large-patch14's tokenizer.json around a vocab.json and merges.txt. */
function clipTokenizer(vocabJson: string, mergesTxt: string): Tokenizer {
  const vocab = JSON.parse(vocabJson) as Record<string, number>;
  const merges = mergesTxt.trim().split('\n').slice(1);
  const special = (content: string) => ({ id: vocab[content]!, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const json = {
    added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', vocab['<|endoftext|>']],
      cls: ['<|startoftext|>', vocab['<|startoftext|>']],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
  return new Tokenizer(json, { model_max_length: 77 });
}

const golden = JSON.parse(readFileSync(`${SHARED}/golden.json`, 'utf8')) as { cases: { prompt: string; ids: number[] }[] };
const builtin = builtinTokenizerFiles();

describe('the tokenizer.json recipe', () => {
  it("reproduces the real CLIP vocabulary's golden ids", () => {
    const real = clipTokenizer(readFileSync(`${SHARED}/vocab.json`, 'utf8'), readFileSync(`${SHARED}/merges.txt`, 'utf8'));
    for (const { prompt, ids } of golden.cases) expect(real.encode(prompt).ids, prompt).toEqual(ids);
  });
});

describe('built-in CLIP tokenizer files', () => {
  const vocab = JSON.parse(builtin.files['vocab.json']!) as Record<string, number>;

  it("has CLIP's layout: byte tokens, their </w> forms, merges, then start/end of text", () => {
    const real = JSON.parse(readFileSync(`${SHARED}/vocab.json`, 'utf8')) as Record<string, number>;
    const firstIds = (v: Record<string, number>) =>
      Object.entries(v)
        .filter(([, id]) => id < 512)
        .sort((a, b) => a[1] - b[1]);
    expect(firstIds(vocab)).toEqual(firstIds(real));
    const size = Object.keys(vocab).length;
    expect(builtin.vocabSize).toBe(size);
    expect(size).toBeGreaterThan(2500);
    expect(vocab['<|startoftext|>']).toBe(size - 2);
    expect(vocab['<|endoftext|>']).toBe(size - 1);
    expect(new Set(Object.values(vocab)).size).toBe(size); // ids are 0..size-1, each once
    expect(Math.max(...Object.values(vocab))).toBe(size - 1);
  });

  it('writes merges.txt with the version header, one merge per vocabulary token', () => {
    const lines = builtin.files['merges.txt']!.trim().split('\n');
    expect(lines[0]).toBe(MERGES_HEADER);
    expect(lines.length - 1).toBe(builtin.vocabSize - 512 - 2);
    for (const [i, merge] of lines.slice(1).entries()) expect(vocab[merge.replace(' ', '')], merge).toBe(512 + i);
  });

  it('encodes "a photo of a cat" to known ids, whole words as single tokens', () => {
    const tokenizer = clipTokenizer(builtin.files['vocab.json']!, builtin.files['merges.txt']!);
    const encoded = tokenizer.encode('a photo of a cat');
    expect(encoded.tokens).toEqual(['<|startoftext|>', 'a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>', '<|endoftext|>']);
    expect(encoded.ids).toEqual([2708, 320, 707, 538, 320, 1000, 2709]);
  });

  it('splits words it never saw into learned pieces and decodes them back', () => {
    const tokenizer = clipTokenizer(builtin.files['vocab.json']!, builtin.files['merges.txt']!);
    const encoded = tokenizer.encode('zebracat photos!');
    expect(encoded.tokens.length).toBeGreaterThan(4);
    expect(encoded.tokens.length).toBeLessThan(12);
    expect(tokenizer.decode(encoded.ids, { skip_special_tokens: true }).trim()).toBe('zebracat photos!');
  });

  it('is deterministic', () => {
    expect(builtinTokenizerFiles()).toEqual(builtin);
  });
});

describe('BPE training', () => {
  it("merges the most frequent pair first, ties by the pair's text", () => {
    // Sennrich et al.'s example. "e s" and "s t</w>" tie at 9 ("e s" sorts first); later "e w", "n e" and
    // "w est</w>" tie at 6.
    const merges = trainBpe(
      new Map([
        ['low', 5],
        ['lower', 2],
        ['newest', 6],
        ['widest', 3],
      ]),
      4,
    );
    expect(merges).toEqual(['e s', 'es t</w>', 'l o', 'e w']);
  });

  it('stops when every word is one token', () => {
    const merges = trainBpe(new Map([['ab', 1]]), 100);
    expect(merges).toEqual(['a b</w>']);
  });
});
