/**
 * The whole server (HTTP, queue, worker thread, onnxruntime) on SD-family topologies other than SD 1.5's: diffusers'
 * tiny 2-block test UNet and its ControlNets (6 + 1 residuals, VAE factor 2), a 3-block distilled UNet (9 + 1), and
 * an SD 2.x-style model (1024-wide text, v-prediction, "!" padding). A ControlNet made for another topology is
 * refused with a 400 naming both.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSet } from '../../scripts/tiny-models/generate.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { TINY_2BLOCK, TINY_3BLOCK, TINY_SD2 } from '../../scripts/tiny-models/sd/topologies.js';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

const root = mkdtempSync(path.join(tmpdir(), 'topologies-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;

function editJson(file: string, patch: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...patch }));
}

beforeAll(async () => {
  const tokenizer = builtinTokenizerFiles();
  // The 2-block set's ControlNets go to the shared controlnet/ folder, beside an SD 1.5-shaped one.
  writeSet(root, { ...TINY_2BLOCK, sharedControlnetFolder: true }, FP32_FORMAT, tokenizer, ['canny', 'depth']);
  saveModel(buildControlNet(TINY, FP32_FORMAT), path.join(root, 'controlnet', 'sd15-canny', 'model.onnx'));
  writeSet(root, TINY_3BLOCK, FP32_FORMAT, tokenizer, ['canny']);
  writeSet(root, TINY_SD2, FP32_FORMAT, tokenizer, ['canny']);
  const sd2 = path.join(root, TINY_SD2.baseName);
  editJson(path.join(sd2, 'tokenizer', 'tokenizer_config.json'), { pad_token: '!' });
  // The same graphs read as an epsilon model, to show the v-prediction config is what changes the image.
  cpSync(sd2, path.join(root, 'tiny-sd2-epsilon'), { recursive: true });
  editJson(path.join(sd2, 'scheduler', 'scheduler_config.json'), { prediction_type: 'v_prediction' });
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'tiny-2block' });
  photo = (await testPng(96, 64)).toString('base64');
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const post = (extra: Record<string, unknown>) =>
  server.app.inject({
    method: 'POST',
    url: '/api/v1/enterprise/controlnet',
    payload: {
      key: API_KEY,
      controlnet_model: 'canny',
      auto_hint: 'yes',
      prompt: 'a red cube',
      init_image: photo,
      base64: 'yes',
      width: 96,
      height: 64,
      num_inference_steps: 3,
      seed: 11,
      scheduler: 'DDIMScheduler',
      ...extra,
    },
  });

/** The decoded RGB of a base64 PNG, checked to be width × height. */
async function rgb(base64: string, width = 96, height = 64): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(base64, 'base64')).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([width, height]);
  return data;
}

async function ok(extra: Record<string, unknown>) {
  const res = await post(extra);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(body.status).toBe('success');
  return { body, images: await Promise.all((body.output as string[]).map((o) => rgb(o))) };
}

const differ = (a: Buffer, b: Buffer) => a.some((v, i) => v !== b[i]);

describe("diffusers' tiny 2-block topology (6 + 1 residuals, VAE factor 2)", () => {
  it('txt2img, reproducible by seed, and the hint changes the image', async () => {
    const a = await ok({ model_id: 'tiny-2block', strength: 1 });
    const b = await ok({ model_id: 'tiny-2block', strength: 1 });
    const off = await ok({ model_id: 'tiny-2block', strength: 1, controlnet_conditioning_scale: 0 });
    expect(a.body.meta.mode).toBe('txt2img');
    expect(a.images[0]!.equals(b.images[0]!)).toBe(true);
    expect(differ(a.images[0]!, off.images[0]!)).toBe(true);
  });

  it('multi-ControlNet and guess mode, with two samples', async () => {
    const multi = await ok({
      model_id: 'tiny-2block',
      controlnet_model: 'canny,depth',
      controlnet_type: 'canny,scribble',
      controlnet_conditioning_scale: '0.7,0.5',
      samples: 2,
      strength: 1,
    });
    expect(multi.images).toHaveLength(2);
    const guess = await ok({ model_id: 'tiny-2block', guess_mode: 'yes', strength: 1 });
    expect(guess.body.meta.guess_mode).toBe('yes');
    const plain = await ok({ model_id: 'tiny-2block', strength: 1 });
    expect(differ(guess.images[0]!, plain.images[0]!)).toBe(true);
  });

  it('img2img', async () => {
    const { body } = await ok({ model_id: 'tiny-2block', strength: 0.6, num_inference_steps: 5 });
    expect(body.meta.mode).toBe('img2img');
  });

  it('refuses an SD 1.5-shaped ControlNet with a 400 naming both and the mismatch', async () => {
    const res = await post({ model_id: 'tiny-2block', controlnet_model: 'sd15-canny', controlnet_type: 'canny' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: 'error' });
    expect(res.json().message).toContain(
      'ControlNet "sd15-canny" does not fit model "tiny-2block"\'s UNet: it returns 13 residuals (12 down-block + 1 mid-block) where the UNet takes 7 residuals (6 down-block + 1 mid-block)',
    );
    expect(res.json().message).not.toContain(root);
  });
});

describe('a 3-block distilled UNet (9 + 1 residuals)', () => {
  it('generates txt2img, and img2img in guess mode', async () => {
    await ok({ model_id: 'tiny-3block', strength: 1 });
    await ok({ model_id: 'tiny-3block', strength: 0.5, num_inference_steps: 4, guess_mode: 'yes' });
  });
});

describe('SD 2.x-style (1024-wide text, v-prediction, "!" padding)', () => {
  it('generates, and v-prediction is what the scheduler applies', async () => {
    for (const scheduler of ['DDIMScheduler', 'EulerDiscreteScheduler', 'DPMSolverMultistepScheduler']) {
      const v = await ok({ model_id: 'tiny-sd2', strength: 1, scheduler });
      const eps = await ok({ model_id: 'tiny-sd2-epsilon', strength: 1, scheduler });
      expect(differ(v.images[0]!, eps.images[0]!)).toBe(true);
    }
  });
});
