import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliImageInput } from '../../src/cli/image-input.js';
import { loadImageField } from '../../src/image/source.js';
import { STRICT_POLICY } from '../../src/net/address-policy.js';
import { testPng } from '../helpers/images.js';

const limits = { fetchTimeoutMs: 2000, maxBytes: 1 << 20, maxPixels: 4096 * 4096 };

describe('command-line images: local files besides what the server takes', () => {
  let dir: string;
  let png: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cn-cli-img-'));
    png = await testPng(40, 24);
    await writeFile(path.join(dir, 'a.png'), png);
    await writeFile(path.join(dir, 'not-an-image.png'), 'hello');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a path relative to its folder, an absolute path and a file: URL, and meta echoes them as given', async () => {
    const input = new CliImageInput(dir, limits, STRICT_POLICY);
    const load = input.loader(false);
    for (const value of ['a.png', path.join(dir, 'a.png'), pathToFileURL(path.join(dir, 'a.png')).href]) {
      const image = await load('init_image', value);
      expect([image.width, image.height, image.channels]).toEqual([40, 24, 3]);
      expect(input.describe(value)).toBe(value);
    }
  });

  it('still takes data: URIs, and raw base64 (also without base64: "yes"); meta says "base64"', async () => {
    const input = new CliImageInput(dir, limits, STRICT_POLICY);
    const b64 = png.toString('base64');
    for (const value of [`data:image/png;base64,${b64}`, b64]) {
      expect((await input.loader(false)('control_image', value)).width).toBe(40);
      expect(input.describe(value)).toBe('base64');
    }
  });

  it('names the field and the folder relative paths are read from', async () => {
    const load = new CliImageInput(dir, limits, STRICT_POLICY).loader(false);
    await expect(load('mask_image', 'missing.png')).rejects.toMatchObject({
      statusCode: 400,
      message: `mask_image: no such file: "missing.png" (relative paths are read from ${dir})`,
    });
    await expect(load('init_image', '.')).rejects.toThrow(`init_image: is not a file: "." (relative paths are read from ${dir})`);
    await expect(load('init_image', 'not-an-image.png')).rejects.toThrow(/^init_image: "not-an-image.png": not a decodable image/);
    const small = new CliImageInput(dir, { ...limits, maxBytes: 100 }, STRICT_POLICY).loader(false);
    await expect(small('init_image', 'a.png')).rejects.toThrow(/^init_image: "a.png" is \d+ bytes, over the limit of 100 bytes$/);
  });

  it('the server loader never reads a path', async () => {
    await expect(loadImageField('init_image', path.join(dir, 'a.png'), { allowRawBase64: false, limits, policy: STRICT_POLICY })).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/^init_image: expected an http\(s\) URL or a data: URI/),
    });
  });
});
