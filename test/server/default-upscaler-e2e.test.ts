/**
 * The built-in model set answers `upscale`: `npm start`'s ensureDefaultModels on an empty folder writes
 * upscalers/tiny-x2 beside the tiny models (stamped: a second start skips it), the catalog lists it, and
 * `upscale: "yes"` over HTTP gives a 2× image whose every 2×2 block is the plain image's pixel (nearest neighbour).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDefaultModels } from '../../scripts/tiny-models/ensure-default.js';
import { testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

const models = mkdtempSync(path.join(os.tmpdir(), 'cn-default-set-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;

beforeAll(async () => {
  expect(await ensureDefaultModels({ modelsDir: models, ensureTinyModels: true })).toBe(true);
  server = await startTestServer({ MODELS_DIR: models });
  photo = (await testPng(64, 72)).toString('base64');
});
afterAll(async () => {
  await server?.close();
  rmSync(models, { recursive: true, force: true });
});

const body = (extra: Record<string, unknown>) => ({
  key: API_KEY,
  base64: 'yes',
  model_id: 'tiny-sd15',
  controlnet_model: 'canny',
  auto_hint: 'yes',
  init_image: photo,
  prompt: 'a lighthouse',
  width: 64,
  height: 72,
  num_inference_steps: 2,
  seed: 5,
  ...extra,
});

async function generate(extra: Record<string, unknown>) {
  const res = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: body(extra) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { status: string; output: string[]; meta: Record<string, unknown> };
}

const raw = (b64: string) => sharp(Buffer.from(b64, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });

describe('the built-in upscaler (upscalers/tiny-x2)', () => {
  it('is written with the default models, stamped, and listed by get_all_models', async () => {
    expect(existsSync(path.join(models, 'upscalers', 'tiny-x2', 'model.onnx'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(models, 'upscalers', 'tiny-x2', 'config.json'), 'utf8'))).toEqual({ scale: 2 });
    expect(JSON.parse(readFileSync(path.join(models, '.generated.json'), 'utf8')).sets).toHaveProperty(['upscalers/tiny-x2']);
    expect(await ensureDefaultModels({ modelsDir: models, ensureTinyModels: true })).toBe(false);
    const list = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/get_all_models', payload: { key: API_KEY } });
    expect(list.json().upscalers).toEqual([{ name: 'tiny-x2', scale: 2 }]);
  });

  it('upscale "yes" on a fresh default set: a 2× image, each 2×2 block the plain image\'s pixel', async () => {
    const [plain, upscaled] = [await generate({}), await generate({ upscale: 'yes' })];
    expect(upscaled.status).toBe('success');
    expect(upscaled.meta.upscale).toEqual({ factor: 2, model: 'tiny-x2', model_scale: 2, W: 128, H: 144 });
    const small = await raw(plain.output[0]!);
    const big = await raw(upscaled.output[0]!);
    expect([big.info.width, big.info.height]).toEqual([128, 144]);
    let max = 0;
    for (let y = 0; y < 144; y++)
      for (let x = 0; x < 128; x++)
        for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(big.data[(y * 128 + x) * 3 + c]! - small.data[((y >> 1) * 64 + (x >> 1)) * 3 + c]!));
    expect(max).toBe(0);
  });
});
