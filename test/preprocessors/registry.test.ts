import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { AnnotatorMissingError, HINT_TYPES, HintError, makeHint, PURE_HINT_TYPES } from '../../src/preprocessors/registry.js';
import { paintRgb } from './helpers.js';

const CONTRACT_TYPES = [
  'canny',
  'depth',
  'hed',
  'mlsd',
  'normal',
  'openpose',
  'scribble',
  'segmentation',
  'aesthetic-controlnet',
  'inpaint',
  'softedge',
  'lineart',
  'shuffle',
  'tile',
  'face_detector',
];

function withChannels(rgb: RawImage, channels: 1 | 3 | 4): RawImage {
  const n = rgb.width * rgb.height;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < channels; k++) data[i * channels + k] = k < 3 ? rgb.data[i * 3 + Math.min(k, 2)] : 255;
  }
  return { ...rgb, data, channels };
}

describe('makeHint registry', () => {
  it("lists the contract's types, and which of them need no weights", () => {
    expect([...HINT_TYPES]).toEqual(CONTRACT_TYPES);
    expect([...PURE_HINT_TYPES].sort()).toEqual(['aesthetic-controlnet', 'canny', 'inpaint', 'mlsd', 'scribble', 'shuffle', 'tile']);
  });

  it('rejects an unknown type, listing the valid ones', async () => {
    const image = paintRgb(8, 8, () => 0);
    const error = await makeHint('sketch', image, { width: 8, height: 8 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HintError);
    expect((error as Error).message).toContain('"sketch"');
    for (const type of CONTRACT_TYPES) expect((error as Error).message).toContain(type);
  });

  it('names the missing annotator and its folder for model-based types', async () => {
    const image = paintRgb(8, 8, () => 0);
    for (const type of CONTRACT_TYPES.filter((t) => !PURE_HINT_TYPES.includes(t))) {
      const error = await makeHint(type, image, { width: 8, height: 8 }).catch((e: unknown) => e);
      expect(error, type).toBeInstanceOf(AnnotatorMissingError);
      const missing = error as AnnotatorMissingError;
      expect(missing.hintType).toBe(type);
      expect(missing.folder).toBe(`models/annotators/${missing.annotator}/`);
      expect(missing.message).toContain(missing.annotator);
      expect(missing.message).toContain(missing.folder);
    }
    const moved = await makeHint('depth', image, { width: 8, height: 8, annotatorsDir: '/srv/annotators/' }).catch((e: unknown) => e);
    expect((moved as AnnotatorMissingError).folder).toBe('/srv/annotators/midas/');
  });

  it('checks the output size and the image, naming the field', async () => {
    const image = paintRgb(8, 8, () => 0);
    await expect(makeHint('canny', image, { height: 8 } as never)).rejects.toThrow(/width/);
    await expect(makeHint('canny', image, { width: 8, height: 0 })).rejects.toThrow(/height must be between/);
    await expect(makeHint('canny', image, { width: 8.5, height: 8 })).rejects.toThrow(/width must be an integer/);
    await expect(makeHint('canny', { ...image, data: image.data.subarray(1) }, { width: 8, height: 8 })).rejects.toThrow(HintError);
    await expect(makeHint('canny', { ...image, channels: 2 as never }, { width: 8, height: 8 })).rejects.toThrow(/channels/);
  });

  it('gives an RGB image of the output size for every pure type and any input channel count', async () => {
    const rgb = paintRgb(96, 64, (x, y) => (((x >> 4) + (y >> 4)) % 2 === 0 ? 30 : 220));
    const mask = paintRgb(96, 64, (x) => (x < 48 ? 255 : 0));
    for (const type of PURE_HINT_TYPES) {
      for (const channels of [1, 3, 4] as const) {
        const hint = await makeHint(type, withChannels(rgb, channels), { width: 80, height: 48, mask, detectResolution: 64, seed: 1 });
        expect(hint.image.channels, `${type} ${channels}`).toBe(3);
        expect([hint.image.width, hint.image.height]).toEqual([80, 48]);
        expect(hint.image.data.length).toBe(80 * 48 * 3);
        expect(hint.minusOneMask === undefined).toBe(type !== 'inpaint');
      }
    }
  });

  it('accepts the type in any case and with surrounding spaces', async () => {
    const image = paintRgb(64, 64, (x) => (x < 32 ? 0 : 200));
    const a = await makeHint(' Canny ', image, { width: 64, height: 64 });
    const b = await makeHint('canny', image, { width: 64, height: 64 });
    expect(a.image.data).toEqual(b.image.data);
  });
});
