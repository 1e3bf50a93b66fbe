/**
 * Added tokens (textual-inversion trigger words) as transformers' slow tokenizer and diffusers treat them: cut out
 * of the raw text first (leftmost, then longest; case-sensitive, before CLIP lower-cases the rest), multi-vector ones
 * expanded as maybe_convert_prompt does, and decoded back as words of their own.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandMultiVector, splitOnAddedTokens } from '../../src/tokenizer/added-tokens.js';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer.js';

const TOKENIZER = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny', 'models', 'sd-tiny', 'tokenizer');
const added = new Map([
  ['<t>', 100],
  ['<t>_1', 101],
  ['<t>_2', 102],
  ['style', 103],
]);

describe('added tokens', () => {
  it('splits at the leftmost match, the longest there, case-sensitively and inside words', () => {
    expect(splitOnAddedTokens('a <t>_1 b <t>', added)).toEqual([
      { text: 'a ', id: null },
      { text: '<t>_1', id: 101 },
      { text: ' b ', id: null },
      { text: '<t>', id: 100 },
    ]);
    expect(splitOnAddedTokens('Style and restyled', added)).toEqual([
      { text: 'Style and re', id: null },
      { text: 'style', id: 103 },
      { text: 'd', id: null },
    ]);
    expect(splitOnAddedTokens('', added)).toEqual([]);
  });

  it('expands a multi-vector token everywhere it occurs, and leaves single ones', () => {
    expect(expandMultiVector('<t>, a <t> style', added)).toBe('<t> <t>_1 <t>_2, a <t> <t>_1 <t>_2 style');
    expect(expandMultiVector('no trigger here', added)).toBe('no trigger here');
  });

  it('ClipTokenizer: added ids in place, the rest as before; encode expands; decode names them; the plain tokenizer is unchanged', async () => {
    const plain = await ClipTokenizer.fromFolder(TOKENIZER);
    const tok = plain.withAddedTokens([
      { content: 'mystyle', id: 2710 },
      { content: 'mystyle_1', id: 2711 },
    ]);
    const around = plain.tokenIds('a red rocket,');
    expect(tok.tokenIds('a red rocket,mystyle')).toEqual([...around, 2710]);
    expect(tok.tokenIds('MyStyle')).toEqual(plain.tokenIds('MyStyle'));
    const ids = Array.from(tok.encode('mystyle photo').ids);
    expect(ids.slice(0, 5)).toEqual([plain.bosId, 2710, 2711, ...plain.tokenIds('photo'), plain.eosId].slice(0, 5));
    expect(tok.decode([...plain.tokenIds('a red'), 2710, ...plain.tokenIds('rocket')])).toBe('a red mystyle rocket');
    expect(tok.hasToken('mystyle')).toBe(true);
    expect(plain.hasToken('mystyle')).toBe(false);
    expect(plain.tokenIds('mystyle')).not.toContain(2710);
  });
});
