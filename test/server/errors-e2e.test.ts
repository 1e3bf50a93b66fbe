import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  server = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES, IMAGE_MAX_PIXELS: String(400 * 400) });
  const big = await sharp({ create: { width: 500, height: 500, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  images = await startImageServer({
    '/photo.png': { body: await testPng(64, 64) },
    '/big.png': { body: big },
    '/page.html': { body: '<!doctype html><p>not an image</p>', type: 'text/html' },
  });
});
afterAll(async () => {
  await images?.close();
  await server?.close();
});

const good = () => ({
  key: API_KEY,
  model_id: 'tiny-sd15',
  controlnet_model: 'canny',
  auto_hint: 'yes',
  init_image: images.url('/photo.png'),
  width: 64,
  height: 64,
  num_inference_steps: 2,
  seed: 1,
});

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: payload as string, headers });

describe('malformed requests get a clear 4xx and the server keeps serving', () => {
  const cases: [string, () => unknown, number, RegExp][] = [
    ['missing key', () => ({ ...good(), key: undefined }), 401, /^key: missing API key$/],
    ['wrong key', () => ({ ...good(), key: 'nope' }), 401, /^key: invalid API key$/],
    ['width of the wrong type', () => ({ ...good(), width: 'wide' }), 400, /^width: must be an integer from 64 to 1024 and a multiple of 8, got "wide"$/],
    ['height over the limit', () => ({ ...good(), height: 1032 }), 400, /^height: .*got 1032$/],
    ['too many samples', () => ({ ...good(), samples: '5' }), 400, /^samples: must be an integer from 1 to 4/],
    ['steps out of range', () => ({ ...good(), num_inference_steps: 51 }), 400, /^num_inference_steps: must be an integer from 1 to 50/],
    ['guidance out of range', () => ({ ...good(), guidance_scale: 0.5 }), 400, /^guidance_scale: must be a number from 1 to 20/],
    ['unknown model', () => ({ ...good(), model_id: 'sdxl-turbo' }), 400, /^model_id: unknown model "sdxl-turbo"; available: .*tiny-sd15/],
    [
      'unknown ControlNet',
      () => ({ ...good(), controlnet_model: 'canny,qrcode' }),
      400,
      /^controlnet_model: unknown ControlNet "qrcode" for model "tiny-sd15"; available: canny, /,
    ],
    ['unknown controlnet_type', () => ({ ...good(), controlnet_type: 'edges' }), 400, /^controlnet_type: unknown controlnet_type "edges"; one of: canny/],
    ['unknown scheduler', () => ({ ...good(), scheduler: 'Euler' }), 400, /^scheduler: unknown scheduler "Euler"; one of: DDPMScheduler/],
    ['a scheduler SD cannot use', () => ({ ...good(), scheduler: 'KarrasVeScheduler' }), 400, /^scheduler: KarrasVeScheduler cannot be used for generation: /],
    [
      'bad algorithm_type',
      () => ({ ...good(), scheduler: 'DPMSolverMultistepScheduler', algorithm_type: 'dpm3' }),
      400,
      /^algorithm_type: unknown value "dpm3"/,
    ],
    ['bad base64', () => ({ ...good(), base64: 'yes', init_image: 'this is not base64!' }), 400, /^init_image: not valid base64 image data$/],
    // Fetched URLs all get one neutral message (what answers where stays on the server).
    ['a URL that is not an image', () => ({ ...good(), init_image: images.url('/page.html') }), 400, /^init_image: could not fetch the image \(/],
    ['a 404 URL', () => ({ ...good(), init_image: images.url('/nothing.png') }), 400, /^init_image: could not fetch the image \(/],
    ['an oversized image', () => ({ ...good(), init_image: images.url('/big.png') }), 400, /^init_image: could not fetch the image \(.* 160000 pixels/],
    ['no image at all', () => ({ ...good(), init_image: null }), 400, /^init_image: required \(or control_image\)/],
    [
      'mask without init_image',
      () => ({ ...good(), init_image: null, control_image: images.url('/photo.png'), mask_image: images.url('/photo.png') }),
      400,
      /^init_image: required with mask_image/,
    ],
    [
      'strength leaving no step',
      () => ({ ...good(), strength: 0.1, num_inference_steps: 5 }),
      400,
      /^strength: 0\.1 × num_inference_steps 5 leaves no denoising step/,
    ],
    [
      'per-ControlNet scales that do not match',
      () => ({ ...good(), controlnet_conditioning_scale: '1,0.5' }),
      400,
      /^controlnet_conditioning_scale: give one value, or one per ControlNet \(1\), got 2$/,
    ],
    ['a missing feature', () => ({ ...good(), safety_checker: 'yes' }), 400, /^safety_checker: no safety checker is installed/],
    ['LoRA', () => ({ ...good(), lora_model: 'more_details' }), 400, /^lora_model: unknown LoRA "more_details"/],
    [
      'a hint whose annotator is not installed',
      () => ({ ...good(), controlnet_model: 'depth' }),
      400,
      /depth.*put its ONNX export at annotators\/midas\/model\.onnx/,
    ],
    ['malformed JSON', () => '{"key": "test-key", "width": ', 400, /JSON/i],
  ];

  it.each(cases)('%s', async (_name, body, status, message) => {
    const payload = body();
    const res = await post(payload, typeof payload === 'string' ? { 'content-type': 'application/json' } : {});
    expect(res.statusCode).toBe(status);
    const json = res.json();
    expect(json.status).toBe('error');
    expect(json.message).toMatch(message);
    // No path of this machine leaves it.
    expect(json.message).not.toContain(process.cwd());
  });

  it('still serves a good request after all of them', async () => {
    const res = await post(good());
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('success');
  });

  it('answers unknown routes in the contract shape', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ status: 'error', message: 'no route for GET /api/v1/nothing' });
  });

  it('reports ignored unknown fields and unused parameters as warnings', async () => {
    const res = await post({
      ...good(),
      panorama: 'yes',
      strength: 0.5,
      init_image: undefined,
      control_image: images.url('/photo.png'),
      scheduler: 'EulerDiscreteScheduler',
      algorithm_type: 'dpmsolver++',
    });
    expect(res.statusCode).toBe(200);
    const { warnings, meta } = res.json();
    expect(warnings).toEqual(
      expect.arrayContaining([
        'ignored unknown field(s): panorama',
        'strength: applies only with init_image (img2img) or mask_image (inpaint); not used',
        'algorithm_type: applies only to DPMSolverMultistepScheduler; not used with EulerDiscreteScheduler',
      ]),
    );
    expect(meta).toMatchObject({ strength: 1, mode: 'txt2img', algorithm_type: null, use_karras_sigmas: 'yes' });
  });
});
