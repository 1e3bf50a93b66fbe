import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer.js';
import { CLIP_TOKENIZER_DIR } from '../helpers/golden.js';

// The real CLIP vocabulary and OpenAI-tokenizer ids (test/fixtures/golden/README.md).
const CLIP_DIR = CLIP_TOKENIZER_DIR;

interface GoldenCase {
  prompt: string;
  ids: number[];
}

const BOS = 49406;
const EOS = 49407;

let golden: GoldenCase[];
let tokenizer: ClipTokenizer;
let loadMs: number;
const tempDirs: string[] = [];

beforeAll(async () => {
  golden = (JSON.parse(await readFile(join(CLIP_DIR, 'golden.json'), 'utf8')) as { cases: GoldenCase[] }).cases;
  // CPU time of the (cold) load: test files run side by side, and their work must not count as this one's.
  const start = process.cpuUsage();
  tokenizer = await ClipTokenizer.fromFolder(CLIP_DIR);
  const used = process.cpuUsage(start);
  loadMs = (used.user + used.system) / 1000;
});

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempFolder(files: Record<string, string>, links: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clip-tokenizer-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  for (const name of links) await symlink(join(CLIP_DIR, name), join(dir, name));
  return dir;
}

/** Checks an encoding against unpadded golden ids: same prefix, then padding only. */
function expectPaddedLike(ids: Int32Array, expected: number[], padId: number): void {
  expect(ids).toHaveLength(77);
  expect(Array.from(ids.subarray(0, expected.length))).toEqual(expected);
  expect(Array.from(ids.subarray(expected.length)).every((id) => id === padId)).toBe(true);
}

describe('ClipTokenizer from vocab.json + merges.txt', () => {
  it('reproduces OpenAI CLIP ids for the golden prompts', () => {
    for (const { prompt, ids } of golden) {
      expect(tokenizer.tokenIds(prompt)).toEqual(ids.slice(1, -1));
      const encoding = tokenizer.encode(prompt);
      expectPaddedLike(encoding.ids, ids, EOS); // SD 1.x pads with <|endoftext|>
      expect(encoding.truncated).toBeNull();
    }
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId, tokenizer.maxLength]).toEqual([BOS, EOS, EOS, 77]);
  });

  it('truncates to bos + 75 tokens + eos and reports the cut-off text', () => {
    const prompt = Array.from({ length: 40 }, () => 'cat dog').join(' '); // 80 one-token words
    const tokens = tokenizer.tokenIds(prompt);
    expect(tokens).toHaveLength(80);
    const { ids, truncated } = tokenizer.encode(prompt);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(BOS);
    expect(Array.from(ids.subarray(1, 76))).toEqual(tokens.slice(0, 75));
    expect(ids[76]).toBe(EOS);
    expect(truncated).toBe('dog cat dog cat dog');
  });

  it('keeps exactly 75 prompt tokens untruncated and cuts the 76th', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? 'dog' : 'cat')).join(' ');
    const full = tokenizer.encode(words(75));
    expect(full.truncated).toBeNull();
    expect(Array.from(full.ids.subarray(1, 76))).toEqual(tokenizer.tokenIds(words(75)));
    expect(full.ids[76]).toBe(EOS); // no room left for padding
    expect(tokenizer.encode(`${words(75)}, sunset`).truncated).toBe(', sunset');
    expect(tokenizer.encode(`${words(75)} sunset`).truncated).toBe('sunset');
  });

  it('normalises whitespace, case and Unicode composition like CLIPTokenizerFast', () => {
    const plain = tokenizer.tokenIds('a man walking his dog');
    expect(tokenizer.tokenIds('  A   Man\twalking\nhis\u3000DOG  ')).toEqual(plain);
    expect(tokenizer.tokenIds('cafe\u0301')).toEqual(tokenizer.tokenIds('caf\u00e9')); // NFC
    expect(tokenizer.tokenIds('   ')).toEqual([]);
  });

  it('byte-encodes any Unicode and decodes it back', () => {
    for (const text of ['日本の猫 🐱', 'ñandú über straße', 'x² ≠ 3½']) {
      const tokens = tokenizer.tokenIds(text);
      expect(tokens.length).toBeGreaterThan(0);
      expect(tokens.every((id) => id >= 0 && id < BOS)).toBe(true);
      expect(tokenizer.decode(tokens).replace(/\s+/g, '')).toBe(text.normalize('NFC').toLowerCase().replace(/\s+/g, ''));
    }
  });

  it("recognises the special tokens inside a prompt, as OpenAI's tokenizer does", () => {
    expect(tokenizer.tokenIds('a <|endoftext|> b')).toEqual([320, EOS, 321]);
  });

  it('merges "!" runs when the pad token is <|endoftext|> (SD 1.x)', () => {
    expect(tokenizer.tokenIds('! !! !!!')).toEqual([256, 748, 995]);
  });

  it('loads well under a second and encodes well under a millisecond once warm', () => {
    expect(loadMs).toBeLessThan(1000);
    const prompt = golden[3]!.prompt;
    for (let i = 0; i < 50; i++) tokenizer.encode(`${prompt} ${i}`);
    const start = process.cpuUsage();
    for (let i = 0; i < 200; i++) tokenizer.encode(`${prompt} ${i % 50}`);
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000 / 200).toBeLessThan(1);
  });
});

describe('ClipTokenizer from other folder layouts', () => {
  it('reads tokenizer.json, with pad token and length from tokenizer_config.json (SD 2.x pads with "!")', async () => {
    const vocab = JSON.parse(await readFile(join(CLIP_DIR, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = (await readFile(join(CLIP_DIR, 'merges.txt'), 'utf8')).split('\n').slice(1).filter(Boolean);
    // Written the way Hugging Face saves CLIPTokenizerFast.
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        { id: BOS, content: '<|startoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
        { id: EOS, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: {
        type: 'Sequence',
        normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
      },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          {
            type: 'Split',
            pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
            behavior: 'Removed',
            invert: true,
          },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        ],
      },
      post_processor: {
        type: 'RobertaProcessing',
        sep: ['<|endoftext|>', EOS],
        cls: ['<|startoftext|>', BOS],
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
    const sd1 = await ClipTokenizer.fromFolder(
      await tempFolder({
        'tokenizer.json': JSON.stringify(tokenizerJson),
        'tokenizer_config.json': JSON.stringify({
          bos_token: { __type: 'AddedToken', content: '<|startoftext|>' },
          eos_token: '<|endoftext|>',
          pad_token: '<|endoftext|>',
          model_max_length: 77,
          tokenizer_class: 'CLIPTokenizer',
        }),
      }),
    );
    for (const { prompt, ids } of golden) expectPaddedLike(sd1.encode(prompt).ids, ids, EOS);

    const sd2 = await ClipTokenizer.fromFolder(
      await tempFolder({
        'tokenizer.json': JSON.stringify(tokenizerJson),
        'tokenizer_config.json': JSON.stringify({ pad_token: '!', model_max_length: 77 }),
      }),
    );
    expect(sd2.padId).toBe(0);
    const plain = golden.filter(({ prompt }) => !prompt.includes('!'));
    expect(plain.length).toBeGreaterThan(2);
    for (const { prompt, ids } of plain) expectPaddedLike(sd2.encode(prompt).ids, ids, 0);
    // The config's pad token becomes a special token on load, as in transformers: "!" never merges.
    expect(sd2.tokenIds('! !! !!!')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('lets special_tokens_map.json override tokenizer_config.json, as transformers does', async () => {
    const dir = await tempFolder(
      {
        'tokenizer_config.json': JSON.stringify({ pad_token: '<|endoftext|>', model_max_length: 1e30 }),
        'special_tokens_map.json': JSON.stringify({ pad_token: { content: '!', lstrip: false } }),
      },
      ['vocab.json', 'merges.txt'],
    );
    const sd2 = await ClipTokenizer.fromFolder(dir);
    expect([sd2.padId, sd2.maxLength]).toEqual([0, 77]);
    expectPaddedLike(sd2.encode(golden[0]!.prompt).ids, golden[0]!.ids, 0);
    // The pad token is a special token, so each "!" stays alone, as in diffusers (issue 4153).
    expect(sd2.tokenIds('! !! !!!')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('says what it expected when a folder has no tokenizer', async () => {
    const dir = await tempFolder({ 'vocab.json': '{}' });
    await expect(ClipTokenizer.fromFolder(dir)).rejects.toThrow(/tokenizer\.json, or vocab\.json and merges\.txt/);
  });

  it('rejects special tokens the vocabulary lacks', async () => {
    const dir = await tempFolder({ 'special_tokens_map.json': JSON.stringify({ pad_token: '<pad>' }) }, ['vocab.json', 'merges.txt']);
    await expect(ClipTokenizer.fromFolder(dir)).rejects.toThrow(/"<pad>" is not in the vocabulary/);
  });
});
