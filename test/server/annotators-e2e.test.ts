import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { saveModel } from '../../src/onnx/model-file.js';
import { depthGraph } from '../../scripts/tiny-models/annotators/dense.js';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

/** A models folder with a (tiny) MiDaS annotator installed, as a user would drop one in. */
const models = mkdtempSync(path.join(os.tmpdir(), 'cn-annot-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;

beforeAll(async () => {
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(models, 'tiny-sd15'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'depth'), path.join(models, 'controlnet', 'depth'), { recursive: true });
  saveModel(depthGraph(), path.join(models, 'annotators', 'midas', 'model.onnx'));
  server = await startTestServer({ MODELS_DIR: models });
  photo = (await testPng(96, 64)).toString('base64');
});
afterAll(async () => {
  await server?.close();
  rmSync(models, { recursive: true, force: true });
});

const post = (url: string, payload: Record<string, unknown>) =>
  server.app.inject({ method: 'POST', url, payload: { key: API_KEY, base64: 'yes', ...payload } });

describe('model-based hints with an installed annotator', () => {
  it('generates with auto_hint depth through the MiDaS session on the worker', async () => {
    const res = await post('/api/v1/enterprise/controlnet', {
      controlnet_model: 'depth',
      auto_hint: 'yes',
      init_image: photo,
      width: 96,
      height: 64,
      num_inference_steps: 2,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().meta.controlnet_type).toBe('depth');
  });

  it('previews the depth hint: a grey depth map of the requested size', async () => {
    const res = await post('/api/v1/enterprise/controlnet/detect', { controlnet_type: 'depth', image: photo });
    expect(res.statusCode).toBe(200);
    const png = Buffer.from(res.json().output[0], 'base64');
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 64]);
    for (let p = 0; p < data.length; p += 3) expect(data[p]).toBe(data[p + 1]);
    expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(50); // normalised to the full range
  });

  it('still names the missing annotator for other types', async () => {
    const res = await post('/api/v1/enterprise/controlnet/detect', { controlnet_type: 'openpose', image: photo });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/annotators[/\\]openpose[/\\]model\.onnx/);
  });
});
