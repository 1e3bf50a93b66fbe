/**
 * LoRA over the whole server (HTTP, queue, worker thread, onnxruntime) on the torch-exported sd-tiny parity model:
 * seeded requests with a kohya LoRA (alpha, UNet + text encoder, LoCon 3x3/1x1, Gemm), a PEFT LoRA, and both at
 * once equal diffusers 0.27.2's images with the same LoRAs fused (test/fixtures/lora, make-lora-parity.py) within
 * 1/255; strength 0 gives exactly the image without LoRA; the refusals and warnings name the field.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/weights/safetensors.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { type FixtureCase, fixtureBody, fixtureCases, generateOk, maxPixelDiff as maxDiff, rgbPixels as pixels } from '../helpers/parity-requests.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'lora');
const PARITY_MODELS = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny', 'models');
const root = mkdtempSync(path.join(tmpdir(), 'lora-'));
let server: Awaited<ReturnType<typeof startTestServer>>;

type LoraCase = FixtureCase;
const cases = fixtureCases<LoraCase>(FIXTURE);
const byName = (n: string) => cases.find((c) => c.name === n)!;

beforeAll(async () => {
  symlinkSync(path.join(PARITY_MODELS, 'sd-tiny'), path.join(root, 'sd-tiny'));
  symlinkSync(path.join(PARITY_MODELS, 'controlnet'), path.join(root, 'controlnet'));
  mkdirSync(path.join(root, 'lora'));
  for (const f of ['kohya_mix', 'peft_mix']) copyFileSync(path.join(FIXTURE, 'lora', `${f}.safetensors`), path.join(root, 'lora', `${f}.safetensors`));
  // A LoRA whose layers belong to another model, one with a part that matches nothing, and a pickle.
  const m = (n: number) => ({ dtype: 'F32' as const, shape: [1, n], data: new Float32Array(n).fill(0.1) });
  const u = (n: number) => ({ dtype: 'F32' as const, shape: [n, 1], data: new Float32Array(n).fill(0.1) });
  writeFileSync(
    path.join(root, 'lora', 'foreign.safetensors'),
    encodeSafetensors({ 'lora_unet_no_such_layer.lora_down.weight': m(8), 'lora_unet_no_such_layer.lora_up.weight': u(8) }),
  );
  writeFileSync(
    path.join(root, 'lora', 'partial.safetensors'),
    encodeSafetensors({
      'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight': m(8),
      'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight': u(8),
      'lora_unet_no_such_layer.lora_down.weight': m(8),
      'lora_unet_no_such_layer.lora_up.weight': u(8),
    }),
  );
  writeFileSync(path.join(root, 'lora', 'pickled.pt'), 'not read');
  writeFileSync(path.join(root, 'lora', 'broken.safetensors'), 'PK\x03\x04 not a safetensors file');
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'sd-tiny' });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const body = (c: FixtureCase, extra: Record<string, unknown> = {}) => fixtureBody(FIXTURE, c, extra);

const generate = (payload: Record<string, unknown>) => generateOk(server.app, payload);

describe('LoRA (lora_model, lora_strength)', () => {
  for (const name of ['lora-kohya', 'lora-peft', 'lora-two']) {
    it(`${name}: equals diffusers with the LoRA(s) fused, within 1/255, and differs from the image without`, async () => {
      const c = byName(name);
      const res = await generate(body(c));
      const got = await pixels(Buffer.from(res.output[0]!, 'base64'));
      const want = await pixels(readFileSync(path.join(FIXTURE, c.expected[0]!)));
      const without = await pixels(readFileSync(path.join(FIXTURE, byName('lora-none').expected[0]!)));
      expect(maxDiff(got, want)).toBeLessThanOrEqual(1);
      expect(maxDiff(got, without)).toBeGreaterThan(3);
      expect(res.meta.lora_model).toBe(c.request.lora_model);
      // The fused step graph is built from the files on disk: a merged UNet runs the separate sessions.
      expect(res.meta.step_graph).toBe('separate');
      expect(String(res.meta.lora_strength)).toBe(c.request.lora_strength);
      expect(res.warnings ?? []).not.toContainEqual(expect.stringMatching(/^lora_model/));
    });
  }

  it('strength 0 gives exactly the image without LoRA; a repeated set reuses its merged sessions', async () => {
    const none = await generate(body(byName('lora-none')));
    const zero = await generate(body(byName('lora-none'), { lora_model: 'kohya_mix', lora_strength: '0' }));
    expect(Buffer.from(zero.output[0]!, 'base64').equals(Buffer.from(none.output[0]!, 'base64'))).toBe(true);
    const t0 = performance.now();
    await generate(body(byName('lora-kohya')));
    const first = performance.now() - t0;
    const t1 = performance.now();
    await generate(body(byName('lora-kohya')));
    expect(performance.now() - t1).toBeLessThan(first * 2);
  });

  it('load_model (model_type lora) installs a local safetensors file, get_all_models lists it, delete_model removes it', async () => {
    const call = (name: string, payload: Record<string, unknown>) =>
      server.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: API_KEY, ...payload } });
    const file = path.join(FIXTURE, 'lora', 'peft_mix.safetensors');
    const loaded = await call('load_model', { model_id: 'installed', url: file, model_type: 'lora' });
    expect(loaded.statusCode, loaded.body).toBe(200);
    const models = (await call('get_all_models', {})).json().models as { model_id: string; model_type: string }[];
    expect(models).toContainEqual(expect.objectContaining({ model_id: 'installed', model_type: 'lora' }));
    expect(
      models
        .filter((m) => m.model_type === 'lora')
        .map((m) => m.model_id)
        .sort(),
    ).toEqual(['broken', 'foreign', 'installed', 'kohya_mix', 'partial', 'peft_mix']);
    const c = byName('lora-peft');
    const res = await generate(body(c, { lora_model: 'installed' }));
    const want = await pixels(readFileSync(path.join(FIXTURE, c.expected[0]!)));
    expect(maxDiff(await pixels(Buffer.from(res.output[0]!, 'base64')), want)).toBeLessThanOrEqual(1);
    const notLora = await call('load_model', { model_id: 'bad', url: path.join(FIXTURE, 'cases.json'), model_type: 'lora' });
    expect(notLora.statusCode).toBe(400);
    expect(notLora.json().message).toMatch(/^url: .* is not a \.safetensors file/);
    const deleted = await call('delete_model', { model_id: 'installed', model_type: 'lora' });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const after = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: body(c, { lora_model: 'installed' }) });
    expect(after.statusCode).toBe(400);
    expect(readFileSync(file).byteLength).toBeGreaterThan(0);
  });

  it('warns when part of a LoRA matches nothing; refuses one that matches nothing, unknown ids, pickles and bad strengths', async () => {
    const partial = await generate(body(byName('lora-none'), { lora_model: 'partial' }));
    expect(partial.warnings).toContainEqual(expect.stringMatching(/^lora_model: 1 of 2 layers of LoRA "partial" match no weight of model sd-tiny/));
    const post = (extra: Record<string, unknown>) =>
      server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: body(byName('lora-none'), extra) });
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ lora_model: 'foreign' }, /^lora_model: no layer of LoRA "foreign" matches a weight of model sd-tiny/],
      [{ lora_model: 'nope' }, /^lora_model: unknown LoRA "nope"; available: .*kohya_mix/],
      [{ lora_model: 'broken' }, /^lora_model: LoRA "broken" cannot be used: not a safetensors file/],
      [{ lora_model: 'pickled' }, /^lora_model: "pickled" is a pickled file/],
      [{ lora_model: 'kohya_mix,peft_mix', lora_strength: '1,2,3' }, /^lora_strength: give one value, or one per LoRA \(2\), got 3/],
      [{ lora_model: 'kohya_mix', lora_strength: 'lots' }, /^lora_strength: "lots" is not a number/],
      [{ lora_strength: '0.5' }, /^lora_strength: given without lora_model/],
    ];
    for (const [extra, message] of refused) {
      const res = await post(extra);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ status: 'error', message: expect.stringMatching(message) });
      expect(res.body).not.toContain(root);
    }
  });
});
