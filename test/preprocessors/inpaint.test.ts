import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { HintError, makeHint } from '../../src/preprocessors/registry.js';
import { paintRgb, readRgb } from './helpers.js';

function rgbMask(w: number, h: number, colour: (x: number, y: number) => [number, number, number]): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(colour(x, y), (y * w + x) * 3);
  return { data, width: w, height: h, channels: 3 };
}

describe('inpaint hint', () => {
  it('is the image itself, with -1 where the mask is white', async () => {
    const image = await readRgb('rocket.png');
    const { width, height } = image;
    const mask = paintRgb(width, height, (x, y) => (x < 100 && y >= 40 ? 255 : 0));
    const hint = await makeHint('inpaint', image, { width, height, mask });
    expect(hint.image.data).toEqual(image.data);
    const expected = new Uint8Array(width * height).map((_, i) => (i % width < 100 && i >= 40 * width ? 1 : 0));
    expect(hint.minusOneMask).toEqual(expected);
  });

  it("thresholds the mask's PIL luma at 0.5 (128 and up)", async () => {
    const image = paintRgb(6, 1, () => 50);
    const levels: [number, number, number][] = [
      [127, 127, 127],
      [128, 128, 128],
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ];
    const mask = rgbMask(6, 1, (x) => levels[x]);
    const hint = await makeHint('inpaint', image, { width: 6, height: 1, mask });
    // Luma: 127, 128, 76 (red), 150 (green), 29 (blue), 255.
    expect([...hint.minusOneMask!]).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('resizes image and mask to the output size; a one-channel mask works too', async () => {
    const image = paintRgb(50, 50, (x) => x * 5);
    const mask: RawImage = { data: new Uint8Array(50 * 50).map((_, i) => (i % 50 < 25 ? 255 : 0)), width: 50, height: 50, channels: 1 };
    const hint = await makeHint('inpaint', image, { width: 100, height: 100, mask });
    expect([hint.image.width, hint.image.height]).toEqual([100, 100]);
    const wrong: number[] = [];
    for (let i = 0; i < 100 * 100; i++) {
      const x = i % 100;
      if (Math.abs(x - 49.5) >= 2 && hint.minusOneMask![i] !== (x < 50 ? 1 : 0)) wrong.push(i); // skip the resampled boundary
    }
    expect(wrong).toEqual([]);
  });

  it('needs a well-formed mask', async () => {
    const image = paintRgb(8, 8, () => 0);
    await expect(makeHint('inpaint', image, { width: 8, height: 8 })).rejects.toThrow(/mask/);
    await expect(makeHint('inpaint', image, { width: 8, height: 8, mask: { ...image, width: 9 } })).rejects.toThrow(HintError);
  });
});
