/**
 * The special tokens and length limit of a Hugging Face tokenizer folder, read from
 * `tokenizer_config.json` and `special_tokens_map.json` (the latter wins, as in transformers),
 * with CLIP's defaults for whatever neither names.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TokenizerSettings {
  bosToken: string;
  eosToken: string;
  unkToken: string;
  /** SD 1.x pads with "<|endoftext|>", SD 2.x with "!". */
  padToken: string;
  /** `model_max_length` when it is a real limit (transformers writes 1e30 for "none"). */
  modelMaxLength: number | undefined;
  /** How decoded text is tidied (" ," -> ","); transformers' historical default is true. */
  cleanUpTokenizationSpaces: boolean;
}

export const CLIP_DEFAULT_SETTINGS: TokenizerSettings = {
  bosToken: '<|startoftext|>',
  eosToken: '<|endoftext|>',
  unkToken: '<|endoftext|>',
  padToken: '<|endoftext|>',
  modelMaxLength: undefined,
  cleanUpTokenizationSpaces: true,
};

/** A special token as these files write it: a string, or an AddedToken object with `content`. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** Settings from parsed `tokenizer_config.json` and `special_tokens_map.json` contents (either may be absent). */
export function resolveTokenizerSettings(tokenizerConfig: Record<string, unknown> = {}, specialTokensMap: Record<string, unknown> = {}): TokenizerSettings {
  const pick = (key: string, fallback: string): string => tokenContent(specialTokensMap[key]) ?? tokenContent(tokenizerConfig[key]) ?? fallback;
  const maxLength = tokenizerConfig.model_max_length;
  const cleanUp = tokenizerConfig.clean_up_tokenization_spaces;
  return {
    bosToken: pick('bos_token', CLIP_DEFAULT_SETTINGS.bosToken),
    eosToken: pick('eos_token', CLIP_DEFAULT_SETTINGS.eosToken),
    unkToken: pick('unk_token', CLIP_DEFAULT_SETTINGS.unkToken),
    padToken: pick('pad_token', CLIP_DEFAULT_SETTINGS.padToken),
    modelMaxLength: typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength > 2 && maxLength <= 1_000_000 ? maxLength : undefined,
    cleanUpTokenizationSpaces: typeof cleanUp === 'boolean' ? cleanUp : CLIP_DEFAULT_SETTINGS.cleanUpTokenizationSpaces,
  };
}

/** Reads the settings of the tokenizer folder `dir`. */
export async function readTokenizerSettings(dir: string): Promise<TokenizerSettings> {
  const [config, specialTokens] = await Promise.all([
    readJsonObjectIfPresent(join(dir, 'tokenizer_config.json')),
    readJsonObjectIfPresent(join(dir, 'special_tokens_map.json')),
  ]);
  return resolveTokenizerSettings(config, specialTokens);
}

/** Parses a JSON object file; undefined when the file does not exist. */
export async function readJsonObjectIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}
