import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { makeHint } from '../../src/preprocessors/registry.js';
import { resizeImage } from '../../src/preprocessors/resize.js';
import { readRgb } from './helpers.js';

/** Mean absolute difference between horizontal neighbours: how much fine detail there is. */
function detail(image: RawImage): number {
  const { data, width: w, height: h } = image;
  let sum = 0;
  for (let y = 0; y < h; y++)
    for (let x = 1; x < w; x++) for (let k = 0; k < 3; k++) sum += Math.abs(data[(y * w + x) * 3 + k] - data[(y * w + x - 1) * 3 + k]);
  return sum / ((w - 1) * h * 3);
}

function mean(image: RawImage): number {
  return image.data.reduce((a, b) => a + b, 0) / image.data.length;
}

describe('tile hint', () => {
  it('lowers detail more as the rate grows and keeps the overall colours', async () => {
    const image = await readRgb('astronaut.png');
    const size = { width: 256, height: 256 };
    const levels = [];
    for (const tileRate of [1, 2, 4, 8]) {
      const hint = (await makeHint('tile', image, { ...size, tileRate })).image;
      levels.push(detail(hint));
      expect(Math.abs(mean(hint) - mean(image))).toBeLessThan(2);
    }
    expect(levels[0]).toBeCloseTo(detail(image), 6); // rate 1 at the same size: the image itself
    for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeLessThan(levels[i - 1] * 0.8);
  });

  it('defaults to halving and works at the output size', async () => {
    const image = await readRgb('coffee.png');
    const hint = await makeHint('tile', image, { width: 200, height: 120 });
    const half = await makeHint('tile', image, { width: 200, height: 120, tileRate: 2 });
    expect(hint.image.data).toEqual(half.image.data);
    const plain = await resizeImage(image, 200, 120, 'lanczos3');
    expect(detail(hint.image)).toBeLessThan(detail(plain));
  });

  it('rejects a rate below 1', async () => {
    const image = await readRgb('coffee.png');
    await expect(makeHint('tile', image, { width: 64, height: 64, tileRate: 0.5 })).rejects.toThrow(/tileRate/);
  });
});
