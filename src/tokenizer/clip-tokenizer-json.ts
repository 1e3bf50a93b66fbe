/**
 * Builds, in memory, the `tokenizer.json` that Hugging Face's CLIPTokenizerFast derives from CLIP's
 * `vocab.json` + `merges.txt` (transformers' CLIPConverter): NFC, whitespace runs to one space and
 * lowercase; CLIP's split regex then byte-level mapping; BPE with the `</w>` end-of-word suffix;
 * bos/eos around the sequence.
 */

/** CLIP's pre-tokenisation regex (OpenAI's simple_tokenizer, less the special tokens it also lists). */
export const CLIP_SPLIT_REGEX = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** CLIP's merge count: 49152 BPE tokens less the 256 bytes and the 2 specials (as HF's CLIPTokenizer reads it). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

export interface ClipSpecialTokenNames {
  bos: string;
  eos: string;
  unk: string;
  /** Registered as a special token too, as transformers does: SD 2.x's "!" then never merges (diffusers issue 4153). */
  pad?: string;
}

/** The subset of the tokenizer.json schema this module writes. */
export interface ClipTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: {
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }[];
  normalizer: object;
  pre_tokenizer: object;
  post_processor: object;
  decoder: object;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: string;
    end_of_word_suffix: string;
    fuse_unk: boolean;
    byte_fallback: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/**
 * The merges of a `merges.txt`: one "left right" pair per line after the "#version" header, at
 * most CLIP_MERGE_COUNT of them (HF's CLIPTokenizer ignores any further lines).
 */
export function parseMerges(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const start = lines[0]?.startsWith('#') ? 1 : 0;
  const merges: string[] = [];
  for (let i = start; i < lines.length && merges.length < CLIP_MERGE_COUNT; i++) {
    const line = lines[i]!.trim();
    if (line.length > 0) merges.push(line);
  }
  return merges;
}

/** The tokenizer.json equivalent of a CLIP vocabulary, ready for `@huggingface/tokenizers`' Tokenizer. */
export function buildClipTokenizerJson(vocab: Record<string, number>, merges: string[], special: ClipSpecialTokenNames): ClipTokenizerJson {
  const idOf = (token: string): number => {
    const id = Object.hasOwn(vocab, token) ? vocab[token] : undefined;
    if (id === undefined) throw new Error(`special token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  };
  const bosId = idOf(special.bos);
  const eosId = idOf(special.eos);
  // Every named special token is an added token, matched in the text before BPE, as in transformers.
  const specialNames = [...new Set([special.bos, special.eos, special.unk, special.pad ?? special.eos])];
  const addedTokens = specialNames
    .map((content) => ({
      id: idOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      // Matched after lowercasing, as OpenAI's tokenizer lowercases before its regex finds them.
      normalized: true,
      special: true,
    }))
    .sort((a, b) => a.id - b.id);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_REGEX }, behavior: 'Removed', invert: true },
        // The split pieces hold no spaces, so GPT-2's regex (use_regex) would not split them further.
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [special.eos, eosId],
      cls: [special.bos, bosId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: special.unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}
