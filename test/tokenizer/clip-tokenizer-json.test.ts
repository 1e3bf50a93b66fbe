import { describe, expect, it } from 'vitest';
import { buildClipTokenizerJson, CLIP_MERGE_COUNT, parseMerges } from '../../src/tokenizer/clip-tokenizer-json.js';

describe('parseMerges', () => {
  it('skips the #version header and blank lines, CRLF included', () => {
    expect(parseMerges('#version: 0.2\r\ni n\r\nt h\r\n\r\n')).toEqual(['i n', 't h']);
    expect(parseMerges('i n\nt h')).toEqual(['i n', 't h']);
  });

  it("keeps at most CLIP's 48894 merges, as HF's CLIPTokenizer does", () => {
    const lines = Array.from({ length: CLIP_MERGE_COUNT + 10 }, (_, i) => `a${i} b`);
    const merges = parseMerges(['#version: 0.2', ...lines].join('\n'));
    expect(CLIP_MERGE_COUNT).toBe(48894);
    expect(merges).toHaveLength(CLIP_MERGE_COUNT);
    expect(merges.at(-1)).toBe(`a${CLIP_MERGE_COUNT - 1} b`);
  });
});

describe('buildClipTokenizerJson', () => {
  const vocab = { '!': 0, a: 1, 'a</w>': 4, '<|startoftext|>': 2, '<|endoftext|>': 3 };

  it("wires the special tokens and CLIP's BPE settings", () => {
    const json = buildClipTokenizerJson(vocab, [], { bos: '<|startoftext|>', eos: '<|endoftext|>', unk: '<|endoftext|>' });
    expect(json.added_tokens.map((t) => [t.content, t.id, t.special])).toEqual([
      ['<|startoftext|>', 2, true],
      ['<|endoftext|>', 3, true],
    ]);
    const withPad = buildClipTokenizerJson(vocab, [], { bos: '<|startoftext|>', eos: '<|endoftext|>', unk: '<|endoftext|>', pad: '!' });
    expect(withPad.added_tokens.map((t) => t.content)).toEqual(['!', '<|startoftext|>', '<|endoftext|>']);
    expect(json.post_processor).toMatchObject({ cls: ['<|startoftext|>', 2], sep: ['<|endoftext|>', 3] });
    expect(json.model).toMatchObject({ end_of_word_suffix: '</w>', continuing_subword_prefix: '', unk_token: '<|endoftext|>' });
  });

  it('refuses special tokens missing from the vocabulary', () => {
    expect(() => buildClipTokenizerJson(vocab, [], { bos: '<s>', eos: '<|endoftext|>', unk: '<|endoftext|>' })).toThrow(/<s>/);
    expect(() => buildClipTokenizerJson(vocab, [], { bos: 'toString', eos: '<|endoftext|>', unk: '<|endoftext|>' })).toThrow(/toString/);
  });
});
