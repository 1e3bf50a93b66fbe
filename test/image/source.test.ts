import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadImageField } from '../../src/image/source.js';
import { ClientError } from '../../src/domain/client-error.js';
import { parseAllowedHosts, STRICT_POLICY } from '../../src/net/address-policy.js';
import { startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';

const limits = { fetchTimeoutMs: 500, maxBytes: 200_000, maxPixels: 1024 * 1024 };
// The image server listens on 127.0.0.1: allowed the way an operator allows a LAN image host.
const policy = { ...parseAllowedHosts('127.0.0.1'), allowedPorts: [] };
let server: Awaited<ReturnType<typeof startImageServer>>;
let png: Buffer;

beforeAll(async () => {
  png = await testPng(40, 30);
  const gray = await sharp(Buffer.alloc(16 * 8, 128), { raw: { width: 16, height: 8, channels: 1 } })
    .png()
    .toBuffer();
  const rgba = await sharp(Buffer.alloc(8 * 8 * 4, 200), { raw: { width: 8, height: 8, channels: 4 } })
    .png()
    .toBuffer();
  server = await startImageServer({
    '/ok.png': { body: png },
    '/gray.png': { body: gray },
    '/rgba.png': { body: rgba },
    '/page.html': { body: '<html>hello</html>', type: 'text/html' },
    '/big.bin': { body: Buffer.alloc(300_000, 1), type: 'application/octet-stream' },
    '/slow.png': { body: png, delayMs: 2000 },
    '/oops': { status: 500, body: 'boom', type: 'text/plain' },
  });
});
afterAll(() => server.close());

const load = (value: string, allowRawBase64 = false) => loadImageField('init_image', value, { allowRawBase64, limits, policy });

async function rejection(p: Promise<unknown>): Promise<ClientError> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError).statusCode).toBe(400);
  return err as ClientError;
}

describe('loadImageField', () => {
  it('fetches and decodes a PNG served on 127.0.0.1 to RGB', async () => {
    const img = await load(server.url('/ok.png'));
    expect([img.width, img.height, img.channels]).toEqual([40, 30, 3]);
    expect(img.data.length).toBe(40 * 30 * 3);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.from(img.data).equals(data)).toBe(true);
  });

  it('turns grayscale and RGBA into 3 channels', async () => {
    const gray = await load(server.url('/gray.png'));
    expect(gray.channels).toBe(3);
    expect([...gray.data.subarray(0, 3)]).toEqual([128, 128, 128]);
    const rgba = await load(server.url('/rgba.png'));
    expect(rgba.channels).toBe(3);
    expect(rgba.data.length).toBe(8 * 8 * 3);
  });

  it('accepts data: URIs always and raw base64 only when base64 is "yes"', async () => {
    const b64 = png.toString('base64');
    expect((await load(`data:image/png;base64,${b64}`)).width).toBe(40);
    expect((await load(b64, true)).height).toBe(30);
    const err = await rejection(load(b64, false));
    expect(err.message).toMatch(/^init_image: expected an http\(s\) URL or a data: URI/);
  });

  it('answers one neutral message for every failed fetch, and keeps the cause for the log', async () => {
    const neutral = /^init_image: could not fetch the image \(a public http\(s\) URL must answer within 500 ms with an image of at most 200000 bytes/;
    const closed = await startImageServer({});
    const deadUrl = closed.url('/x.png');
    await closed.close();
    const cases: [string, RegExp][] = [
      [server.url('/missing.png'), /HTTP 404/],
      [server.url('/oops?token=s3cret'), /HTTP 500/],
      [server.url('/page.html'), /not a decodable image/],
      [server.url('/big.bin'), /over the limit of 200000 bytes/],
      [server.url('/slow.png'), /timed out after 500 ms/],
      [deadUrl, /ECONNREFUSED/],
    ];
    for (const [url, cause] of cases) {
      const err = await rejection(load(url));
      expect(err.message, url).toMatch(neutral);
      expect(err.message).not.toMatch(/127\.0\.0\.1|HTTP|ECONN|decodable|timed out/);
      expect(String(err.logDetail?.reason), url).toMatch(cause);
      expect(err.logDetail?.url).not.toContain('s3cret');
    }
    expect((await rejection(load('!!!not base64!!!', true))).message).toBe('init_image: not valid base64 image data');
    // Inline data is the caller's own: its decoding error is described.
    expect((await rejection(load(Buffer.from('plain text').toString('base64'), true))).message).toMatch(/not a decodable image/);
  });

  it('refuses the loopback image server without the allow-list, with the same message', async () => {
    const err = await rejection(loadImageField('control_image', server.url('/ok.png'), { allowRawBase64: false, limits, policy: STRICT_POLICY }));
    expect(err.message).toMatch(/^control_image: could not fetch the image/);
    expect(String(err.logDetail?.reason)).toMatch(/refused 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/);
  });

  it('refuses images over the pixel limit', async () => {
    const huge = await sharp({ create: { width: 1100, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const err = await rejection(loadImageField('mask_image', `data:image/png;base64,${huge.toString('base64')}`, { allowRawBase64: false, limits, policy }));
    expect(err.message).toBe(`mask_image: image is larger than the limit of ${1024 * 1024} pixels`);
  });
});
