import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { saveModel } from '../../src/onnx/model-file.js';
import { pixelUpscalerGraph } from '../../scripts/tiny-models/upscalers/real-esrgan.js';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

/** A models folder with a (tiny) 4× Real-ESRGAN-style upscaler installed, and one with no upscaler (the built-in set has tiny-x2). */
const models = mkdtempSync(path.join(os.tmpdir(), 'cn-upscale-'));
const bare = mkdtempSync(path.join(os.tmpdir(), 'cn-no-upscaler-'));
let withUpscaler: Awaited<ReturnType<typeof startTestServer>>;
let without: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;

beforeAll(async () => {
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(models, 'tiny-sd15'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'canny'), path.join(models, 'controlnet', 'canny'), { recursive: true });
  saveModel(pixelUpscalerGraph({ scale: 4 }), path.join(models, 'upscalers', 'tiny-x4', 'model.onnx'));
  writeFileSync(path.join(models, 'upscalers', 'tiny-x4', 'config.json'), JSON.stringify({ scale: 4 }));
  symlinkSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(bare, 'tiny-sd15'));
  mkdirSync(path.join(bare, 'controlnet'));
  symlinkSync(path.join(MODELS_DIR, 'controlnet', 'canny'), path.join(bare, 'controlnet', 'canny'));
  [withUpscaler, without] = await Promise.all([startTestServer({ MODELS_DIR: models }), startTestServer({ MODELS_DIR: bare })]);
  photo = (await testPng(64, 64)).toString('base64');
});
afterAll(async () => {
  await Promise.all([withUpscaler?.close(), without?.close()]);
  rmSync(models, { recursive: true, force: true });
  rmSync(bare, { recursive: true, force: true });
});

const body = (extra: Record<string, unknown>) => ({
  key: API_KEY,
  base64: 'yes',
  controlnet_model: 'canny',
  auto_hint: 'yes',
  init_image: photo,
  width: 64,
  height: 72,
  num_inference_steps: 2,
  seed: 7,
  ...extra,
});
const post = (server: typeof without, payload: Record<string, unknown>) => server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload });
const sizeOf = async (b64: string) => {
  const { width, height } = await sharp(Buffer.from(b64, 'base64')).metadata();
  return [width, height];
};

describe('upscale', () => {
  it('"yes" returns images of twice the requested size, and meta says the final size', async () => {
    const res = await post(withUpscaler, body({ upscale: 'yes', samples: 2 }));
    expect(res.statusCode).toBe(200);
    const json = res.json();
    expect(json.output).toHaveLength(2);
    for (const out of json.output) expect(await sizeOf(out)).toEqual([128, 144]);
    expect(json.meta.upscale).toEqual({ factor: 2, model: 'tiny-x4', model_scale: 4, W: 128, H: 144 });
    expect([json.meta.W, json.meta.H]).toEqual([64, 72]);
    expect(json.meta.execution_providers.upscaler).toBe('cpu');
  });

  it('a factor of 4 (number or "4x") runs the 4× network as is', async () => {
    for (const upscale of [4, '4x']) {
      const res = await post(withUpscaler, body({ upscale }));
      expect(res.statusCode).toBe(200);
      expect(await sizeOf(res.json().output[0])).toEqual([256, 288]);
      expect(res.json().meta.upscale.W).toBe(256);
    }
  });

  it('"no", false and 1 leave the size alone', async () => {
    for (const upscale of ['no', false, 1]) {
      const res = await post(withUpscaler, body({ upscale }));
      expect(res.statusCode).toBe(200);
      expect(await sizeOf(res.json().output[0])).toEqual([64, 72]);
      expect(res.json().meta.upscale).toBe('no');
    }
  });

  it('other values are refused naming the field', async () => {
    for (const upscale of ['3', 'maybe', 8, { factor: 2 }]) {
      const res = await post(withUpscaler, body({ upscale }));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ status: 'error' });
      expect(res.json().message).toMatch(/^upscale: must be "yes", "no", 2 or 4/);
    }
  });

  it('get_all_models lists the installed upscalers', async () => {
    const list = async (server: typeof without) =>
      (await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/get_all_models', payload: { key: API_KEY } })).json().upscalers;
    expect(await list(withUpscaler)).toEqual([{ name: 'tiny-x4', scale: 4 }]);
    expect(await list(without)).toEqual([]);
  });

  it('without an installed upscaler: a 400 naming the folder, relative to the models folder', async () => {
    const res = await post(without, body({ upscale: 'yes' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^upscale: no upscaler is installed; .* upscalers\/<name>\/model\.onnx/);
    expect(res.json().message).not.toContain(bare);
  });
});
