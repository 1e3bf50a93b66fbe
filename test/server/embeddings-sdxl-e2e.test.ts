/**
 * SDXL textual-inversion embeddings over HTTP on the sdxl-tiny parity model: a `clip_l` + `clip_g` file (2 vectors,
 * trigger word in prompt and negative prompt) equals diffusers 0.27.2 with clip_l loaded into text_encoder /
 * tokenizer and clip_g into text_encoder_2 / tokenizer_2 (test/fixtures/embeddings/sdxl) within 1/255; an SD file,
 * or a file with only one of the pair, is a 400 naming the field.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/weights/safetensors.js';
import { startTestServer } from '../helpers/server.js';
import { type FixtureCase, fixtureBody, fixtureCases, maxPixelDiff as maxDiff, rgbPixels as pixels } from '../helpers/parity-requests.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'embeddings', 'sdxl');
const PARITY_MODELS = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sdxl-tiny', 'models');
const root = mkdtempSync(path.join(tmpdir(), 'embeddings-sdxl-'));
let server: Awaited<ReturnType<typeof startTestServer>>;

type EmbeddingCase = FixtureCase;
const cases = fixtureCases<EmbeddingCase>(FIXTURE);
const byName = (n: string) => cases.find((c) => c.name === n)!;
const f32 = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01) });

beforeAll(async () => {
  symlinkSync(path.join(PARITY_MODELS, 'sdxl-tiny'), path.join(root, 'sdxl-tiny'));
  symlinkSync(path.join(PARITY_MODELS, 'controlnet'), path.join(root, 'controlnet'));
  const dir = path.join(root, 'embeddings');
  mkdirSync(dir);
  copyFileSync(path.join(FIXTURE, 'embeddings', 'sdxlstyle.safetensors'), path.join(dir, 'sdxlstyle.safetensors'));
  writeFileSync(path.join(dir, 'sd_single.safetensors'), encodeSafetensors({ emb_params: f32([1, 32]) }));
  writeFileSync(path.join(dir, 'only_l.safetensors'), encodeSafetensors({ clip_l: f32([1, 32]) }));
  writeFileSync(path.join(dir, 'wide_g.safetensors'), encodeSafetensors({ clip_l: f32([1, 32]), clip_g: f32([1, 1280]) }));
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'sdxl-tiny' });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const body = (c: FixtureCase, extra: Record<string, unknown> = {}) => fixtureBody(FIXTURE, c, extra);

const post = (payload: Record<string, unknown>) => server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload });

describe('SDXL embeddings (clip_l + clip_g)', () => {
  it('equals diffusers with clip_l in text_encoder and clip_g in text_encoder_2, within 1/255', async () => {
    const c = byName('emb-sdxl-pair');
    const res = await post(body(c));
    expect(res.statusCode, res.body).toBe(200);
    const json = res.json();
    expect(json.meta.embeddings_trigger_words).toEqual({ sdxlstyle: { trigger: 'sdxlstyle', vectors: 2 } });
    const got = await pixels(Buffer.from(json.output[0], 'base64'));
    expect(maxDiff(got, await pixels(readFileSync(path.join(FIXTURE, c.expected[0]!))))).toBeLessThanOrEqual(1);
    expect(maxDiff(got, await pixels(readFileSync(path.join(FIXTURE, byName('emb-sdxl-none').expected[0]!))))).toBeGreaterThan(1);
  });

  it('refuses an SD file, half a pair, and a clip_g of another width', async () => {
    const refused: [string, RegExp][] = [
      ['sd_single', /^embeddings_model: embedding "sd_single" has one set of vectors \(an SD 1\.x\/2\.x embedding\); model sdxl-tiny is SDXL and needs clip_l/],
      ['only_l', /^embeddings_model: embedding "only_l" has only clip_l vectors; model sdxl-tiny is SDXL/],
      ['wide_g', /^embeddings_model: embedding "wide_g" has clip_l 32 \+ clip_g 1280 = 1312-wide vectors, but model sdxl-tiny's text encoders take 64/],
    ];
    for (const [id, message] of refused) {
      const res = await post(body(byName('emb-sdxl-pair'), { embeddings_model: id }));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ status: 'error', message: expect.stringMatching(message) });
    }
  });
});
