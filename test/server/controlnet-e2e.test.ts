import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { halfMaskPng, testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

/** The seed example of the hosted API's docs, verbatim but for the key and the image URL. */
const SEED_EXAMPLE = {
  key: 'enterprise_api_key',
  controlnet_model: 'canny',
  controlnet_type: 'canny',
  model_id: 'midjourney',
  auto_hint: 'yes',
  guess_mode: 'no',
  prompt: 'a model doing photoshoot, ultra high resolution, 4K image',
  negative_prompt: null,
  init_image: '<url>',
  mask_image: null,
  width: '512',
  height: '512',
  samples: '1',
  scheduler: 'UniPCMultistepScheduler',
  num_inference_steps: '30',
  safety_checker: 'no',
  enhance_prompt: 'yes',
  guidance_scale: 7.5,
  strength: 0.55,
  seed: null,
  webhook: null,
  track_id: null,
};

let server: Awaited<ReturnType<typeof startTestServer>>;
let images: Awaited<ReturnType<typeof startImageServer>>;
let photo: Buffer;

beforeAll(async () => {
  server = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES });
  photo = await testPng(160, 120);
  images = await startImageServer({ '/photo.png': { body: photo }, '/mask.png': { body: await halfMaskPng(160, 120) } });
});
afterAll(async () => {
  await images?.close();
  await server?.close();
});

const post = (body: Record<string, unknown>) => server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: body });

/** A small, quick request (tiny sizes and few steps keep the suite fast). */
const small = (extra: Record<string, unknown> = {}) => ({
  key: API_KEY,
  model_id: 'tiny-sd15',
  controlnet_model: 'canny',
  auto_hint: 'yes',
  prompt: 'a red cube',
  init_image: images.url('/photo.png'),
  width: 128,
  height: 96,
  num_inference_steps: 4,
  seed: 7,
  ...extra,
});

async function fetchPng(url: string) {
  const res = await server.app.inject({ method: 'GET', url: new URL(url).pathname });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('image/png');
  return res.rawPayload;
}

describe('POST /api/v1/enterprise/controlnet', () => {
  it('answers the seed example end to end with a real PNG of the requested size', async () => {
    const res = await post({ ...SEED_EXAMPLE, key: API_KEY, init_image: images.url('/photo.png') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('success');
    expect(typeof body.id).toBe('number');
    expect(body.generationTime).toBeGreaterThan(0);
    expect(body.output).toHaveLength(1);
    // <id>-<n>-<128 random bits>.png: the URL cannot be guessed from the id.
    expect(body.output[0]).toMatch(new RegExp(`^http://.+/generations/${body.id}-0-[0-9a-f]{32}\\.png$`));
    const meta = body.meta;
    expect(meta).toMatchObject({
      model_id: 'midjourney',
      model: 'tiny-sd15',
      controlnet_model: 'canny',
      controlnet_type: 'canny',
      scheduler: 'UniPCMultistepScheduler',
      W: 512,
      H: 512,
      steps: 30,
      denoising_steps: 16,
      guidance_scale: 7.5,
      strength: 0.55,
      n_samples: 1,
      mode: 'img2img',
      auto_hint: 'yes',
      guess_mode: 'no',
      enhance_prompt: 'no',
      safety_checker: 'no',
      init_image: images.url('/photo.png'),
    });
    expect(Number.isInteger(meta.seed)).toBe(true);
    expect(body.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^enhance_prompt: /), expect.stringMatching(/^model_id: "midjourney" is an alias/)]),
    );
    const png = await fetchPng(body.output[0]);
    const info = await sharp(png).metadata();
    expect([info.format, info.width, info.height]).toEqual(['png', 512, 512]);
  });

  it('takes base64 images in and gives base64 PNGs out', async () => {
    const res = await post(small({ base64: 'yes', init_image: photo.toString('base64'), samples: 2 }));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.output).toHaveLength(2);
    for (const b64 of body.output) {
      const info = await sharp(Buffer.from(b64, 'base64')).metadata();
      expect([info.format, info.width, info.height]).toEqual(['png', 128, 96]);
    }
    expect(body.output_urls).toHaveLength(2);
    expect(body.meta.base64).toBe('yes');
    expect(body.meta.init_image).toBe('base64');
    expect(body.output[0]).not.toBe(body.output[1]);
  });

  it('is deterministic by seed and differs across seeds', async () => {
    const a = (await post(small())).json();
    const b = (await post(small())).json();
    const c = (await post(small({ seed: 8 }))).json();
    expect(a.meta.seed).toBe(7);
    const [pa, pb, pc] = await Promise.all([fetchPng(a.output[0]), fetchPng(b.output[0]), fetchPng(c.output[0])]);
    expect(pa.equals(pb)).toBe(true);
    expect(pa.equals(pc)).toBe(false);
  });

  it('runs multi-ControlNet with one image and scale per ControlNet', async () => {
    const res = await post(
      small({
        controlnet_model: 'canny,depth',
        auto_hint: 'no',
        control_images: [images.url('/photo.png'), images.url('/photo.png')],
        controlnet_conditioning_scale: '0.5,1',
      }),
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.meta).toMatchObject({ controlnet_model: 'canny,depth', controlnet_type: 'canny,depth', controlnet_conditioning_scale: [0.5, 1] });
    const single = (await post(small({ auto_hint: 'no' }))).json();
    expect((await fetchPng(body.output[0])).equals(await fetchPng(single.output[0]))).toBe(false);
  });

  it('applies a single controlnet_type to every ControlNet (the depth ControlNet gets the canny hint)', async () => {
    const res = await post(small({ controlnet_model: 'canny,depth', controlnet_type: 'canny' }));
    expect(res.statusCode).toBe(200);
    expect(res.json().meta).toMatchObject({ controlnet_model: 'canny,depth', controlnet_type: 'canny,canny', auto_hint: 'yes' });
  });

  it('runs guess mode, which changes the result', async () => {
    const normal = (await post(small({ strength: 1 }))).json();
    const guess = (await post(small({ strength: 1, guess_mode: 'yes' }))).json();
    expect(guess.meta).toMatchObject({ guess_mode: 'yes', step_graph: 'separate' });
    expect(normal.meta.step_graph).toBe('fused');
    expect((await fetchPng(guess.output[0])).equals(await fetchPng(normal.output[0]))).toBe(false);
  });

  it('runs img2img and inpaint at the requested size', async () => {
    const img2img = (await post(small({ strength: 0.5, num_inference_steps: 6 }))).json();
    expect(img2img.meta).toMatchObject({ mode: 'img2img', denoising_steps: 3, strength: 0.5 });
    const inpaint = await post(small({ controlnet_model: 'inpaint', mask_image: images.url('/mask.png'), strength: 1 }));
    expect(inpaint.statusCode).toBe(200);
    const body = inpaint.json();
    expect(body.meta).toMatchObject({ mode: 'inpaint', controlnet_type: 'inpaint', mask_image: images.url('/mask.png') });
    const info = await sharp(await fetchPng(body.output[0])).metadata();
    expect([info.width, info.height]).toEqual([128, 96]);
  });

  it('inpaint keeps the unmasked half close to the source image', async () => {
    const res = (await post(small({ controlnet_model: 'inpaint', mask_image: images.url('/mask.png'), strength: 1, width: 160, height: 120 }))).json();
    const out = await sharp(await fetchPng(res.output[0]))
      .raw()
      .toBuffer();
    const src = await sharp(photo).raw().toBuffer();
    const diff = (x0: number, x1: number) => {
      let sum = 0;
      let n = 0;
      for (let y = 0; y < 120; y++)
        for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++, n++) sum += Math.abs(out[3 * (y * 160 + x) + c] - src[3 * (y * 160 + x) + c]);
      return sum / n;
    };
    // The known half is re-imposed every step (it went through the VAE once); the masked half is new.
    expect(diff(0, 72)).toBeLessThan(diff(88, 160));
  });

  it("clip_skip takes an earlier CLIP layer (after the final norm), within the text encoder's depth", async () => {
    const last = (await post(small({ clip_skip: 1 }))).json();
    const skip = await post(small({ clip_skip: 2 }));
    expect(skip.statusCode).toBe(200);
    expect(skip.json().meta.clip_skip).toBe(2);
    expect((await fetchPng(skip.json().output[0])).equals(await fetchPng(last.output[0]))).toBe(false);
    const fp16 = await post(small({ model_id: 'tiny-sd15-fp16', clip_skip: 2 }));
    expect(fp16.statusCode).toBe(200);
    const tooDeep = await post(small({ clip_skip: 3 }));
    expect(tooDeep.statusCode).toBe(400);
    expect(tooDeep.json().message).toBe("clip_skip: this model's text encoder has 2 layers; clip_skip can be at most 2");
  });

  it('runs the float16 model set', async () => {
    const res = await post(small({ model_id: 'tiny-sd15-fp16', samples: 2, guess_mode: 'yes' }));
    expect(res.statusCode).toBe(200);
    expect(res.json().meta.model).toBe('tiny-sd15-fp16');
  });
});
