/**
 * SDXL over HTTP on the tiny SDXL set (scripts/tiny-models/sdxl/: two text encoders, text_embeds and time_ids,
 * 9 + 1 residuals, VAE 0.13025): txt2img, img2img, inpaint, two SDXL ControlNets, guess mode, the 1024² default
 * size, meta.family, force_zeros_for_empty_prompt (a null negative prompt is zeros, "" is encoded), and an SD
 * ControlNet on the SDXL UNet refused with a 400 naming both.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSet } from '../../scripts/tiny-models/generate.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP16_FORMAT, FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildVaeDecoder } from '../../scripts/tiny-models/sd/vae-decoder.js';
import { TINY_SDXL } from '../../scripts/tiny-models/sdxl/config.js';
import { writeTinySdxl } from '../../scripts/tiny-models/sdxl/generate-sdxl.js';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { halfMaskPng, testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

const root = mkdtempSync(path.join(tmpdir(), 'sdxl-e2e-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;
let mask: string;

beforeAll(async () => {
  writeTinySdxl(root);
  writeSet(root, TINY, FP32_FORMAT, builtinTokenizerFiles(), ['canny']);
  // An SD 1.5-shaped ControlNet offered beside the SDXL ones: it must be refused, not run.
  saveModel(buildControlNet(TINY, FP32_FORMAT), path.join(root, 'tiny-sdxl', 'controlnet', 'sd15-canny', 'model.onnx'));
  // The same SDXL graphs without force_zeros_for_empty_prompt.
  const noZeros = path.join(root, 'tiny-sdxl-nozeros');
  await import('node:fs').then((fs) => fs.cpSync(path.join(root, 'tiny-sdxl'), noZeros, { recursive: true }));
  const index = path.join(noZeros, 'model_index.json');
  writeFileSync(index, JSON.stringify({ ...JSON.parse(readFileSync(index, 'utf8')), force_zeros_for_empty_prompt: false }));
  // The same with a float16 VAE decoder, which SDXL's VAE overflows in.
  const halfVae = path.join(root, 'tiny-sdxl-fp16vae');
  await import('node:fs').then((fs) => fs.cpSync(path.join(root, 'tiny-sdxl'), halfVae, { recursive: true }));
  saveModel(buildVaeDecoder(TINY_SDXL, FP16_FORMAT), path.join(halfVae, 'vae_decoder', 'model.onnx'));
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'tiny-sdxl' });
  photo = (await testPng(96, 64)).toString('base64');
  mask = (await halfMaskPng(96, 64)).toString('base64');
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
      model_id: 'tiny-sdxl',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      prompt: 'a red cube',
      negative_prompt: 'blurry',
      init_image: photo,
      base64: 'yes',
      width: 96,
      height: 64,
      num_inference_steps: 3,
      seed: 11,
      scheduler: 'EulerDiscreteScheduler',
      ...extra,
    },
  });

async function rgb(base64: string, width = 96, height = 64): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(base64, 'base64')).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([width, height]);
  return data;
}

async function ok(extra: Record<string, unknown>, size: [number, number] = [96, 64]) {
  const res = await post(extra);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(body.status, res.body).toBe('success');
  return { body, images: await Promise.all((body.output as string[]).map((o) => rgb(o, ...size))) };
}

const differ = (a: Buffer, b: Buffer) => a.some((v, i) => v !== b[i]);
const spread = (a: Buffer) => Math.max(...a) - Math.min(...a);

describe('SDXL ControlNet generation (tiny SDXL set)', () => {
  it('txt2img: meta.family "sdxl", reproducible by seed, the seed and the hint change the image', async () => {
    const a = await ok({ strength: 1 });
    const b = await ok({ strength: 1 });
    expect(a.body.meta).toMatchObject({ family: 'sdxl', model: 'tiny-sdxl', mode: 'txt2img', W: 96, H: 64 });
    expect(Object.keys(a.body.meta.execution_providers)).toEqual(expect.arrayContaining(['text_encoder', 'text_encoder_2', 'unet', 'controlnet:canny']));
    expect(a.images[0]!.equals(b.images[0]!)).toBe(true);
    expect(spread(a.images[0]!)).toBeGreaterThan(0);
    const seed = await ok({ strength: 1, seed: 12 });
    expect(differ(a.images[0]!, seed.images[0]!)).toBe(true);
    const scale = await ok({ strength: 1, controlnet_conditioning_scale: 0 });
    expect(differ(a.images[0]!, scale.images[0]!)).toBe(true);
  });

  it('img2img and inpaint', async () => {
    const txt = await ok({ strength: 1 });
    const img = await ok({ strength: 0.6 });
    expect(img.body.meta).toMatchObject({ family: 'sdxl', mode: 'img2img', denoising_steps: 1 });
    expect(differ(txt.images[0]!, img.images[0]!)).toBe(true);
    const inpaint = await ok({ strength: 1, mask_image: mask, num_inference_steps: 2 });
    expect(inpaint.body.meta).toMatchObject({ family: 'sdxl', mode: 'inpaint', denoising_steps: 2 });
  });

  it('two SDXL ControlNets (residuals summed) and guess mode', async () => {
    const one = await ok({ strength: 1 });
    const two = await ok({ strength: 1, controlnet_model: 'canny,depth', controlnet_type: 'canny' });
    expect(two.body.meta).toMatchObject({ controlnet_model: 'canny,depth', family: 'sdxl' });
    expect(differ(one.images[0]!, two.images[0]!)).toBe(true);
    const guess = await ok({ strength: 1, guess_mode: 'yes', samples: 2 });
    expect(guess.body.meta).toMatchObject({ guess_mode: 'yes', n_samples: 2 });
    expect(guess.images).toHaveLength(2);
    expect(differ(one.images[0]!, guess.images[0]!)).toBe(true);
  });

  it('force_zeros_for_empty_prompt: a null negative prompt is zeros, "" is encoded; without the flag both encode ""', async () => {
    const absent = await ok({ strength: 1, negative_prompt: null });
    const empty = await ok({ strength: 1, negative_prompt: '' });
    expect(differ(absent.images[0]!, empty.images[0]!)).toBe(true);
    expect(absent.body.meta.negative_prompt).toBe('');
    const a = await ok({ strength: 1, negative_prompt: null, model_id: 'tiny-sdxl-nozeros' });
    const b = await ok({ strength: 1, negative_prompt: '', model_id: 'tiny-sdxl-nozeros' });
    expect(a.images[0]!.equals(b.images[0]!)).toBe(true);
    expect(a.images[0]!.equals(empty.images[0]!)).toBe(true);
  });

  it('a request without width/height gets 1024x1024 on SDXL (512x512 on SD)', async () => {
    const xl = await ok({ strength: 1, width: null, height: undefined, num_inference_steps: 1 }, [1024, 1024]);
    expect(xl.body.meta).toMatchObject({ W: 1024, H: 1024, family: 'sdxl' });
    const sd = await ok(
      { strength: 1, model_id: 'tiny-sd15', width: undefined, height: undefined, num_inference_steps: 1, scheduler: 'DDIMScheduler' },
      [512, 512],
    );
    expect(sd.body.meta).toMatchObject({ W: 512, H: 512, family: 'sd', model: 'tiny-sd15' });
  });

  it('a float16 VAE decoder on an SDXL model is named in warnings', async () => {
    const half = await ok({ strength: 1, model_id: 'tiny-sdxl-fp16vae', num_inference_steps: 1 });
    expect(half.body.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^vae: model tiny-sdxl-fp16vae's VAE decoder is float16, where SDXL's VAE overflows/)]),
    );
    const full = await ok({ strength: 1, num_inference_steps: 1 });
    expect(JSON.stringify(full.body.warnings ?? [])).not.toContain('float16');
  });

  it("get_all_models gives each base model's family", async () => {
    const res = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/get_all_models', payload: { key: API_KEY } });
    const models = res.json().models as { model_id: string; family?: string }[];
    expect(models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ model_id: 'tiny-sdxl', model_type: 'stable-diffusion', family: 'sdxl' }),
        expect.objectContaining({ model_id: 'tiny-sd15', model_type: 'stable-diffusion', family: 'sd' }),
      ]),
    );
  });

  it('an SD ControlNet on the SDXL UNet is a 400 naming both', async () => {
    const res = await post({ controlnet_model: 'sd15-canny', controlnet_type: 'canny' });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      status: 'error',
      message: expect.stringContaining(
        'ControlNet "sd15-canny" does not fit model "tiny-sdxl"\'s UNet: it takes no text_embeds, time_ids (an SD 1.x/2.x ControlNet) and "tiny-sdxl" is an SDXL model',
      ),
    });
  });
});
