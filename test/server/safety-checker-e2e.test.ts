import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { saveModel } from '../../src/onnx/model-file.js';
import { clipInput } from '../../src/safety/clip-input.js';
import { tinySafetyCheckerGraph, tinySafetyConcepts } from '../../scripts/tiny-models/safety-checker.js';
import { pixelUpscalerGraph } from '../../scripts/tiny-models/upscalers/real-esrgan.js';
import { MODELS_DIR } from '../helpers/models.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { testPng } from '../helpers/images.js';

/** A models folder with the tiny safety checker (whose verdict concepts.json decides) and a tiny upscaler. */
const models = mkdtempSync(path.join(os.tmpdir(), 'cn-safety-'));
const conceptsFile = path.join(models, 'safety_checker', 'concepts.json');
let withChecker: Awaited<ReturnType<typeof startTestServer>>;
let without: Awaited<ReturnType<typeof startTestServer>>;
let photo: string;

const solid = (r: number, g: number, b: number) =>
  sharp({ create: { width: 40, height: 30, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
/** The tiny checker's embedding of an image: the mean of each normalised channel, then 1. */
async function embedding(png: Buffer): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = clipInput({ data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 });
  const plane = 224 * 224;
  return [0, 1, 2].map((c) => x.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane).concat(1);
}
const writeConcepts = (c: unknown) => writeFileSync(conceptsFile, JSON.stringify(c));

beforeAll(async () => {
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(models, 'tiny-sd15'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'canny'), path.join(models, 'controlnet', 'canny'), { recursive: true });
  saveModel(tinySafetyCheckerGraph(), path.join(models, 'safety_checker', 'model.onnx'));
  writeConcepts(tinySafetyConcepts([1, 0, 0, 0], 2));
  saveModel(pixelUpscalerGraph(), path.join(models, 'upscalers', 'tiny-x2', 'model.onnx'));
  [withChecker, without] = await Promise.all([startTestServer({ MODELS_DIR: models }), startTestServer()]);
  photo = (await testPng(64, 64)).toString('base64');
});
afterAll(async () => {
  await Promise.all([withChecker?.close(), without?.close()]);
  rmSync(models, { recursive: true, force: true });
});

const generate = (server: typeof without, extra: Record<string, unknown>) =>
  server.app.inject({
    method: 'POST',
    url: '/api/v1/enterprise/controlnet',
    payload: {
      key: API_KEY,
      base64: 'yes',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: photo,
      width: 64,
      height: 64,
      num_inference_steps: 2,
      seed: 3,
      ...extra,
    },
  });
const check = (server: typeof without, payload: Record<string, unknown>) =>
  server.app.inject({ method: 'POST', url: '/api/v1/enterprise/nsfw_image_check', payload: { key: API_KEY, ...payload } });
const pixels = async (b64: string) => sharp(Buffer.from(b64, 'base64')).raw().toBuffer({ resolveWithObject: true });

describe('safety_checker on generations', () => {
  it('a flagged image comes back black, with meta.nsfw_content_detected per image', async () => {
    writeConcepts(tinySafetyConcepts([1, 0, 0, 0], -2)); // every score is cos + 2 > 0
    const res = await generate(withChecker, { safety_checker: 'yes', samples: 2 });
    expect(res.statusCode).toBe(200);
    const json = res.json();
    expect(json.meta.safety_checker).toBe('yes');
    expect(json.meta.nsfw_content_detected).toEqual([true, true]);
    expect(json.meta.execution_providers.safety_checker).toBe('cpu');
    for (const out of json.output) {
      const { data, info } = await pixels(out);
      expect([info.width, info.height]).toEqual([64, 64]);
      expect(Math.max(...data)).toBe(0);
    }
  });

  it('an image that is not flagged is returned as generated (the same as without the checker)', async () => {
    writeConcepts(tinySafetyConcepts([1, 0, 0, 0], 2)); // no score can be > 0
    const [checked, plain] = await Promise.all([generate(withChecker, { safety_checker: 'yes' }), generate(withChecker, { safety_checker: 'no' })]);
    expect(checked.json().meta.nsfw_content_detected).toEqual([false]);
    expect(plain.json().meta.nsfw_content_detected).toBeUndefined();
    expect(plain.json().meta.safety_checker).toBe('no');
    expect((await pixels(checked.json().output[0])).data.equals((await pixels(plain.json().output[0])).data)).toBe(true);
  });

  it('with upscale, a flagged image is black at the upscaled size', async () => {
    writeConcepts(tinySafetyConcepts([1, 0, 0, 0], -2));
    const res = await generate(withChecker, { safety_checker: 'yes', upscale: 'yes' });
    expect(res.json().meta.nsfw_content_detected).toEqual([true]);
    const { data, info } = await pixels(res.json().output[0]);
    expect([info.width, info.height, Math.max(...data)]).toEqual([128, 128, 0]);
  });

  it('without a checker installed: a 400 naming the folders', async () => {
    const res = await generate(without, { safety_checker: 'yes' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^safety_checker: no safety checker is installed; .*safety_checker\/ .*tiny-sd15\/safety_checker\//);
    expect(res.json().message).not.toContain(MODELS_DIR);
  });
});

describe('nsfw_image_check', () => {
  it('flags the image whose embedding is a concept, and not another; the special-care hit adds 0.01', async () => {
    const red = await solid(220, 30, 30);
    const blue = await solid(20, 40, 210);
    writeConcepts(tinySafetyConcepts(await embedding(red), 0.99, 0.995));
    const a = await check(withChecker, { init_image: `data:image/png;base64,${red.toString('base64')}` });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({ status: 'success', has_nsfw_concept: [true], nsfw_content_detected: [true], images: 'base64' });
    // cos = 1: special score round(1 − 0.995, 3) = 0.005 > 0, so the concept score is round(1 − 0.99 + 0.01, 3).
    expect(a.json().special_scores[0][0]).toBe(0.005);
    expect(a.json().concept_scores[0][0]).toBe(0.02);
    const b = await check(withChecker, { image: blue.toString('base64'), base64: 'yes' });
    expect(b.json()).toMatchObject({ status: 'success', has_nsfw_concept: [false] });
  });

  it('refuses a missing image, a bad one, and answers 400 naming the folder without a checker', async () => {
    expect((await check(withChecker, {})).json().message).toMatch(/^init_image: required/);
    const bad = await check(withChecker, { init_image: 'data:image/png;base64,AAAA' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^init_image:/);
    const none = await check(without, { init_image: `data:image/png;base64,${(await solid(1, 2, 3)).toString('base64')}` });
    expect(none.statusCode).toBe(400);
    expect(none.json().message).toMatch(/^safety_checker: no safety checker is installed/);
    expect((await check(withChecker, { key: 'wrong' })).statusCode).toBe(401);
  });

  it('get_all_models says where a checker is installed', async () => {
    const list = async (server: typeof without) =>
      (await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/get_all_models', payload: { key: API_KEY } })).json().safety_checker;
    expect(await list(withChecker)).toEqual({ shared: true, models: [] });
    expect(await list(without)).toEqual({ shared: false, models: [] });
  });

  it('is in /openapi.json, as are the upscale and safety_checker fields', async () => {
    const doc = (await without.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const body = (p: string) => doc.paths[p].post.requestBody.content['application/json'].schema.properties;
    expect(body('/api/v1/enterprise/nsfw_image_check')).toHaveProperty('init_image');
    expect(body('/api/v1/enterprise/controlnet')).toHaveProperty('upscale');
    expect(body('/api/v1/enterprise/controlnet')).toHaveProperty('safety_checker');
  });
});
