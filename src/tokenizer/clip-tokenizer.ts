/**
 * The CLIP BPE tokenizer for prompts, as diffusers calls it:
 * `tokenizer(prompt, padding="max_length", max_length=77, truncation=True)` — bos, up to 75 prompt
 * tokens, eos, then the pad token up to 77 ids — and the cut-off text diffusers logs.
 *
 * A model folder carries either `tokenizer.json`, or CLIP's `vocab.json` + `merges.txt` from which
 * the equivalent tokenizer.json is built in memory; `tokenizer_config.json` and
 * `special_tokens_map.json`, when present, name the special tokens and the length.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { buildClipTokenizerJson, parseMerges } from './clip-tokenizer-json.js';
import { CLIP_DEFAULT_SETTINGS, readTokenizerSettings, type TokenizerSettings } from './tokenizer-settings.js';
import { expandMultiVector, splitOnAddedTokens, type AddedToken } from './added-tokens.js';

/** CLIP text encoders have 77 positions. */
export const CLIP_MAX_LENGTH = 77;

export interface ClipEncoding {
  /** Exactly `maxLength` ids: bos, up to maxLength - 2 prompt tokens, eos, then the pad id. */
  ids: Int32Array;
  /** The decoded text of the prompt tokens that did not fit, or null when nothing was cut. */
  truncated: string | null;
}

export class ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly cleanUpTokenizationSpaces: boolean;
  /** Tokens added on top of the vocabulary (textual-inversion trigger words), by content and by id. */
  private added: ReadonlyMap<string, number> = new Map();
  private addedById: ReadonlyMap<number, string> = new Map();

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly settings: TokenizerSettings,
  ) {
    const idOf = (token: string, role: string): number => {
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new Error(`${role} token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf(settings.bosToken, 'bos');
    this.eosId = idOf(settings.eosToken, 'eos');
    this.padId = idOf(settings.padToken, 'pad');
    this.maxLength = settings.modelMaxLength ?? CLIP_MAX_LENGTH;
    this.cleanUpTokenizationSpaces = settings.cleanUpTokenizationSpaces;
  }

  /**
   * Loads the tokenizer of a model folder (e.g. `models/<id>/tokenizer`): `tokenizer.json` if
   * present, else `vocab.json` + `merges.txt`.
   */
  static async fromFolder(dir: string): Promise<ClipTokenizer> {
    const settings = await readTokenizerSettings(dir);
    const tokenizerJsonPath = join(dir, 'tokenizer.json');
    if (await isFile(tokenizerJsonPath)) {
      return ClipTokenizer.fromTokenizerJson(JSON.parse(await readFile(tokenizerJsonPath, 'utf8')), settings);
    }
    const vocabPath = join(dir, 'vocab.json');
    const mergesPath = join(dir, 'merges.txt');
    if (!(await isFile(vocabPath)) || !(await isFile(mergesPath))) {
      throw new Error(`${dir}: no tokenizer found (expected tokenizer.json, or vocab.json and merges.txt)`);
    }
    const [vocabText, mergesText] = await Promise.all([readFile(vocabPath, 'utf8'), readFile(mergesPath, 'utf8')]);
    return ClipTokenizer.fromVocabAndMerges(JSON.parse(vocabText), mergesText, settings);
  }

  /**
   * From a parsed `tokenizer.json`. The settings' special tokens join its added tokens when missing,
   * as transformers adds the config's special tokens on load.
   */
  static fromTokenizerJson(json: Record<string, unknown>, settings: TokenizerSettings = CLIP_DEFAULT_SETTINGS): ClipTokenizer {
    const tokenizer = new Tokenizer(withSpecialTokens(json, settings), tokenizerConfig(settings));
    return new ClipTokenizer(tokenizer, settings);
  }

  /** From a parsed `vocab.json` and the text (or parsed lines) of `merges.txt`. */
  static fromVocabAndMerges(vocab: Record<string, number>, merges: string | string[], settings: TokenizerSettings = CLIP_DEFAULT_SETTINGS): ClipTokenizer {
    const json = buildClipTokenizerJson(vocab, typeof merges === 'string' ? parseMerges(merges) : merges, {
      bos: settings.bosToken,
      eos: settings.eosToken,
      unk: settings.unkToken,
      pad: settings.padToken,
    });
    return new ClipTokenizer(new Tokenizer(json, tokenizerConfig(settings)), settings);
  }

  /** Whether `token` is already a token of this tokenizer (vocabulary, special or added). */
  hasToken(token: string): boolean {
    return this.added.has(token) || this.tokenizer.token_to_id(token) !== undefined;
  }

  /**
   * This tokenizer with `tokens` added (README "Embeddings"): they are matched in the raw text before the rest is
   * tokenized, and `encode` expands multi-vector ones (`<t>` → `<t> <t>_1 …`) as diffusers' maybe_convert_prompt does.
   * The vocabulary is shared, not copied.
   */
  withAddedTokens(tokens: readonly AddedToken[]): ClipTokenizer {
    const t = new ClipTokenizer(this.tokenizer, this.settings);
    t.added = new Map([...this.added, ...tokens.map((a) => [a.content, a.id] as const)]);
    t.addedById = new Map([...t.added].map(([content, id]) => [id, content]));
    return t;
  }

  /** The prompt's token ids, without bos/eos, padding or truncation. */
  tokenIds(prompt: string): number[] {
    if (this.added.size === 0) return this.tokenizer.encode(prompt, { add_special_tokens: false }).ids;
    return splitOnAddedTokens(prompt, this.added).flatMap((p) => (p.id !== null ? [p.id] : this.tokenizer.encode(p.text, { add_special_tokens: false }).ids));
  }

  /** The fixed-length ids the text encoder takes, and what truncation cut off. */
  encode(prompt: string): ClipEncoding {
    const tokens = this.tokenIds(this.added.size === 0 ? prompt : expandMultiVector(prompt, this.added));
    const room = this.maxLength - 2;
    const kept = Math.min(tokens.length, room);
    const ids = new Int32Array(this.maxLength).fill(this.padId);
    ids[0] = this.bosId;
    for (let i = 0; i < kept; i++) ids[i + 1] = tokens[i]!;
    ids[kept + 1] = this.eosId;
    return { ids, truncated: tokens.length > room ? this.decode(tokens.slice(room)) : null };
  }

  /** Text of token ids, as CLIPTokenizerFast decodes it ("</w>" ends a word; trimmed). */
  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) return '';
    if (this.addedById.size > 0) {
      // Runs of vocabulary ids decode as usual; added tokens as their text (space-separated, as a word).
      const parts: string[] = [];
      const run: number[] = [];
      const flush = () => {
        if (run.length > 0) parts.push(this.decodeVocabulary(run.splice(0)));
      };
      for (const id of Array.from(ids)) {
        const content = this.addedById.get(id);
        if (content === undefined) run.push(id);
        else {
          flush();
          parts.push(content);
        }
      }
      flush();
      return parts.filter((p) => p !== '').join(' ');
    }
    return this.decodeVocabulary(ids);
  }

  private decodeVocabulary(ids: ArrayLike<number>): string {
    return this.tokenizer.decode(Array.from(ids), { clean_up_tokenization_spaces: this.cleanUpTokenizationSpaces }).trim();
  }
}

interface AddedTokenJson {
  id: number;
  content: string;
  [key: string]: unknown;
}

function withSpecialTokens(json: Record<string, unknown>, settings: TokenizerSettings): Record<string, unknown> {
  const added = Array.isArray(json.added_tokens) ? [...(json.added_tokens as AddedTokenJson[])] : [];
  const model = json.model as { vocab?: unknown } | undefined;
  const vocab = model && typeof model.vocab === 'object' && model.vocab !== null ? (model.vocab as Record<string, unknown>) : {};
  for (const content of new Set([settings.bosToken, settings.eosToken, settings.unkToken, settings.padToken])) {
    const id = Object.hasOwn(vocab, content) ? vocab[content] : undefined;
    if (typeof id !== 'number' || added.some((token) => token.content === content)) continue;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return { ...json, added_tokens: added };
}

function tokenizerConfig(settings: TokenizerSettings): Record<string, unknown> {
  return { clean_up_tokenization_spaces: settings.cleanUpTokenizationSpaces };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
