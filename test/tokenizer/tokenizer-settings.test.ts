import { describe, expect, it } from 'vitest';
import { CLIP_DEFAULT_SETTINGS, resolveTokenizerSettings, tokenContent } from '../../src/tokenizer/tokenizer-settings.js';

describe('resolveTokenizerSettings', () => {
  it("falls back to CLIP's tokens when the folder names none", () => {
    expect(resolveTokenizerSettings()).toEqual(CLIP_DEFAULT_SETTINGS);
    expect(CLIP_DEFAULT_SETTINGS.padToken).toBe('<|endoftext|>');
  });

  it('reads strings and AddedToken objects, special_tokens_map.json winning', () => {
    const settings = resolveTokenizerSettings(
      { bos_token: { __type: 'AddedToken', content: '<s>' }, pad_token: '<|endoftext|>', model_max_length: 77 },
      { pad_token: { content: '!', normalized: false }, unk_token: '<unk>' },
    );
    expect(settings).toMatchObject({ bosToken: '<s>', padToken: '!', unkToken: '<unk>', modelMaxLength: 77 });
  });

  it('ignores transformers\' "no limit" length and non-boolean clean-up flags', () => {
    expect(resolveTokenizerSettings({ model_max_length: 1e30 }).modelMaxLength).toBeUndefined();
    expect(resolveTokenizerSettings({ model_max_length: 77.5 }).modelMaxLength).toBeUndefined();
    expect(resolveTokenizerSettings({ clean_up_tokenization_spaces: false }).cleanUpTokenizationSpaces).toBe(false);
    expect(resolveTokenizerSettings({ clean_up_tokenization_spaces: 'no' }).cleanUpTokenizationSpaces).toBe(true);
  });

  it('tokenContent accepts only strings and objects with a string content', () => {
    expect(tokenContent('x')).toBe('x');
    expect(tokenContent({ content: 'y' })).toBe('y');
    expect(tokenContent({ content: 3 })).toBeUndefined();
    expect(tokenContent(null)).toBeUndefined();
  });
});
