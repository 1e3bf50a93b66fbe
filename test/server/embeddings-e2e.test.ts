/**
 * Textual-inversion embeddings over the whole server (HTTP, queue, worker thread, onnxruntime) on the torch-exported
 * sd-tiny parity model: seeded requests with an AUTOMATIC1111 multi-vector embedding (`emb_params`, 3 vectors), a
 * diffusers one (`{"<cat-toy>": [32]}`), both at once (one in the negative prompt too), and one with a LoRA merged
 * into the same text encoder equal diffusers 0.27.2's `load_textual_inversion` images (test/fixtures/embeddings,
 * make-embeddings-parity.py) within 1/255; a prompt without the trigger word gives exactly the image without the
 * embedding (and a warning); refusals name the field; load_model / get_all_models / delete_model manage them.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32ToFloat16 } from '../../src/tensor/float16.js';
import { encodeSafetensors, readSafetensorsFile } from '../../src/weights/safetensors.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { type FixtureCase, fixtureBody, fixtureCases, generateOk, maxPixelDiff as maxDiff, rgbPixels as pixels } from '../helpers/parity-requests.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'embeddings');
const LORA = path.join(import.meta.dirname, '..', 'fixtures', 'lora', 'lora', 'kohya_mix.safetensors');
const PARITY_MODELS = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny', 'models');
const root = mkdtempSync(path.join(tmpdir(), 'embeddings-'));
let server: Awaited<ReturnType<typeof startTestServer>>;

type EmbeddingCase = FixtureCase;
const cases = fixtureCases<EmbeddingCase>(FIXTURE);
const byName = (n: string) => cases.find((c) => c.name === n)!;
const f32 = (shape: number[], v = 0.01) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });

beforeAll(async () => {
  symlinkSync(path.join(PARITY_MODELS, 'sd-tiny'), path.join(root, 'sd-tiny'));
  symlinkSync(path.join(PARITY_MODELS, 'controlnet'), path.join(root, 'controlnet'));
  const dir = path.join(root, 'embeddings');
  mkdirSync(dir);
  mkdirSync(path.join(root, 'lora'));
  copyFileSync(LORA, path.join(root, 'lora', 'kohya_mix.safetensors'));
  for (const f of ['mystyle', 'cattoy']) copyFileSync(path.join(FIXTURE, 'embeddings', `${f}.safetensors`), path.join(dir, `${f}.safetensors`));
  // mystyle's vectors again, under A1111's other key and with the trigger word in the header, in float16.
  const mystyle = readSafetensorsFile(path.join(FIXTURE, 'embeddings', 'mystyle.safetensors')).tensors.get('emb_params')!;
  writeFileSync(
    path.join(dir, 'renamed.safetensors'),
    encodeSafetensors({ 'string_to_param.*': { dtype: 'F16', shape: mystyle.shape, data: float32ToFloat16(mystyle.values) } }, { name: 'mystyle' }),
  );
  writeFileSync(path.join(dir, 'sdxl_pair.safetensors'), encodeSafetensors({ clip_l: f32([2, 768]), clip_g: f32([2, 1280]) }));
  writeFileSync(path.join(dir, 'sd15_wide.safetensors'), encodeSafetensors({ emb_params: f32([1, 768]) }));
  writeFileSync(path.join(dir, 'eos.safetensors'), encodeSafetensors({ '<|endoftext|>': f32([32]) }));
  writeFileSync(path.join(dir, 'pickled.pt'), 'not read');
  writeFileSync(path.join(dir, 'broken.safetensors'), 'PK\x03\x04 not a safetensors file');
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'sd-tiny' });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const body = (c: FixtureCase, extra: Record<string, unknown> = {}) => fixtureBody(FIXTURE, c, extra);

const post = (payload: Record<string, unknown>) => server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload });

const generate = (payload: Record<string, unknown>) => generateOk(server.app, payload);

const expectedPixels = (name: string) => pixels(readFileSync(path.join(FIXTURE, byName(name).expected[0]!)));

describe('textual-inversion embeddings (embeddings_model)', () => {
  for (const name of ['emb-a1111', 'emb-diffusers', 'emb-both', 'emb-lora']) {
    it(`${name}: equals diffusers' load_textual_inversion image within 1/255, and differs from the image without`, async () => {
      const c = byName(name);
      const res = await generate(body(c));
      const got = await pixels(Buffer.from(res.output[0]!, 'base64'));
      expect(maxDiff(got, await expectedPixels(name))).toBeLessThanOrEqual(1);
      // The tiny UNet barely follows the text (text-encoder-parity.test.ts compares the embeddings themselves).
      expect(maxDiff(got, await expectedPixels('emb-none'))).toBeGreaterThan(1);
      expect(res.meta.embeddings_model).toBe(c.request.embeddings_model);
      expect(res.warnings ?? []).not.toContainEqual(expect.stringMatching(/^embeddings_model/));
    });
  }

  it('echoes the trigger words; A1111 string_to_param with a name in the header and float16 works the same', async () => {
    const res = await generate(body(byName('emb-a1111'), { embeddings_model: 'renamed' }));
    expect(res.meta.embeddings_trigger_words).toEqual({ renamed: { trigger: 'mystyle', vectors: 3 } });
    expect(maxDiff(await pixels(Buffer.from(res.output[0]!, 'base64')), await expectedPixels('emb-a1111'))).toBeLessThanOrEqual(1);
  });

  it('a prompt without the trigger word gives exactly the image without the embedding, with a warning', async () => {
    const none = await generate(body(byName('emb-none')));
    const unused = await generate(body(byName('emb-none'), { embeddings_model: 'cattoy' }));
    expect(Buffer.from(unused.output[0]!, 'base64').equals(Buffer.from(none.output[0]!, 'base64'))).toBe(true);
    expect(unused.warnings).toContainEqual(expect.stringMatching(/^embeddings_model: the trigger word "<cat-toy>" of embedding "cattoy" is in neither/));
  });

  it('load_model (model_type embeddings) installs a local safetensors file, get_all_models lists it, delete_model removes it', async () => {
    const call = (name: string, payload: Record<string, unknown>) =>
      server.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: API_KEY, ...payload } });
    const file = path.join(FIXTURE, 'embeddings', 'cattoy.safetensors');
    const loaded = await call('load_model', { model_id: 'installed', url: file, model_type: 'embeddings' });
    expect(loaded.statusCode, loaded.body).toBe(200);
    const models = (await call('get_all_models', {})).json().models as { model_id: string; model_type: string }[];
    expect(
      models
        .filter((m) => m.model_type === 'embeddings')
        .map((m) => m.model_id)
        .sort(),
    ).toEqual(['broken', 'cattoy', 'eos', 'installed', 'mystyle', 'renamed', 'sd15_wide', 'sdxl_pair']);
    // Each lists the word that triggers it (the file's own, else its id) and its vectors, for clients such as the playground.
    const listed = (id: string) => models.find((m) => m.model_id === id) as Record<string, unknown>;
    expect(listed('cattoy')).toMatchObject({ trigger_word: '<cat-toy>', vectors: 1, layout: 'diffusers', parts: ['single'] });
    expect(listed('renamed')).toMatchObject({ trigger_word: 'mystyle', vectors: 3, layout: 'automatic1111' });
    expect(listed('mystyle')).toMatchObject({ trigger_word: 'mystyle', vectors: 3 });
    expect(listed('sdxl_pair')).toMatchObject({ layout: 'sdxl', parts: ['clip_l', 'clip_g'] });
    expect(listed('broken')).not.toHaveProperty('trigger_word');
    const res = await generate(body(byName('emb-diffusers'), { embeddings_model: 'installed' }));
    expect(maxDiff(await pixels(Buffer.from(res.output[0]!, 'base64')), await expectedPixels('emb-diffusers'))).toBeLessThanOrEqual(1);
    const notEmbedding = await call('load_model', { model_id: 'bad', url: LORA, model_type: 'embeddings' });
    expect(notEmbedding.statusCode).toBe(400);
    expect(notEmbedding.json().message).toMatch(/^url: .* is not a textual-inversion embedding safetensors file/);
    const deleted = await call('delete_model', { model_id: 'installed', model_type: 'embeddings' });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const after = await post(body(byName('emb-diffusers'), { embeddings_model: 'installed' }));
    expect(after.statusCode).toBe(400);
    expect(readFileSync(file).byteLength).toBeGreaterThan(0);
  });

  it('refuses unknown ids, pickles, broken files, other families, a width mismatch and a trigger word the tokenizer has', async () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [
        { embeddings_model: 'nope' },
        /^embeddings_model: unknown embedding "nope"; available: .*mystyle.*; to install one, put <id>\.safetensors in models\/embeddings\//,
      ],
      [
        { embeddings_model: 'pickled' },
        /^embeddings_model: "pickled" is a pickled file \(\.pt\/\.bin\), which this server does not load .*convert it to \.safetensors/,
      ],
      [{ embeddings_model: 'broken' }, /^embeddings_model: embedding "broken" cannot be used: not a safetensors file/],
      [{ embeddings_model: 'sdxl_pair' }, /^embeddings_model: embedding "sdxl_pair" is an SDXL embedding \(clip_l\/clip_g\); model sd-tiny is not SDXL/],
      [
        { embeddings_model: 'sd15_wide' },
        /^embeddings_model: embedding "sd15_wide" has 768-wide vectors, but model sd-tiny's text encoder takes 32 \(an embedding made for another/,
      ],
      [{ embeddings_model: 'eos' }, /^embeddings_model: the trigger word "<\|endoftext\|>" of embedding "eos" is already a token of this model's tokenizer/],
      [{ embeddings_model: 'mystyle,renamed' }, /^embeddings_model: embeddings "mystyle" and "renamed" have the same trigger word "mystyle"/],
      [{ embeddings_model: 'mystyle,mystyle' }, /^embeddings_model: an embedding is named twice/],
    ];
    for (const [extra, message] of refused) {
      const res = await post(body(byName('emb-a1111'), extra));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ status: 'error', message: expect.stringMatching(message) });
      expect(res.body).not.toContain(root);
    }
  });
});
