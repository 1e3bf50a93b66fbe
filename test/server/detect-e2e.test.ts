import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { makeHint } from '../../src/preprocessors/registry.js';
import { decodeToRgb } from '../../src/image/codec.js';

const photo = readFileSync('test/fixtures/coffee.png');
let server: Awaited<ReturnType<typeof startTestServer>>;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  server = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES });
  images = await startImageServer({ '/coffee.png': { body: photo } });
});
afterAll(async () => {
  await images?.close();
  await server?.close();
});

const detect = (payload: Record<string, unknown>) =>
  server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet/detect', payload: { key: API_KEY, ...payload } });

describe('POST /api/v1/enterprise/controlnet/detect', () => {
  it('returns the canny hint as a PNG, identical to what generation would use', async () => {
    const res = await detect({ controlnet_type: 'canny', image: images.url('/coffee.png'), low_threshold: 50, high_threshold: 150 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    const got = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
    const rgb = await decodeToRgb(photo, 1e8);
    expect([got.info.width, got.info.height]).toEqual([rgb.width, rgb.height]);
    const expected = await makeHint('canny', rgb, { width: rgb.width, height: rgb.height, lowThreshold: 50, highThreshold: 150 });
    expect(Buffer.from(expected.image.data).equals(got.data)).toBe(true);
    // An edge map: mostly black, with some bright edges (grey only where it was resized back).
    const bright = got.data.filter((v) => v > 40).length / got.data.length;
    expect(bright).toBeGreaterThan(0.01);
    expect(bright).toBeLessThan(0.3);
  });

  it('resizes to width/height and answers base64 JSON on request', async () => {
    const res = await detect({ controlnet_type: 'mlsd', base64: 'yes', image: photo.toString('base64'), width: 128, height: 96 });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'success', controlnet_type: 'mlsd', width: 128, height: 96 });
    expect((await sharp(Buffer.from(body.output[0], 'base64')).metadata()).width).toBe(128);
  });

  it('explains what is wrong', async () => {
    expect((await detect({ controlnet_type: 'edges', image: images.url('/coffee.png') })).json().message).toMatch(/^controlnet_type: required, one of: canny/);
    expect((await detect({ controlnet_type: 'canny' })).json().message).toMatch(/^image: required/);
    expect((await detect({ controlnet_type: 'inpaint', image: images.url('/coffee.png') })).json().message).toMatch(/mask/);
    const depth = await detect({ controlnet_type: 'depth', image: images.url('/coffee.png') });
    expect(depth.statusCode).toBe(400);
    expect(depth.json().message).toMatch(/annotators/);
    expect((await detect({ controlnet_type: 'canny', image: images.url('/missing.png') })).json().message).toMatch(/^image: could not fetch the image \(/);
    expect(
      (await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet/detect', payload: { key: 'x', controlnet_type: 'canny' } })).statusCode,
    ).toBe(401);
  });
});
