import { describe, expect, it } from 'vitest';
import { binaryMask, controlTensor, latentMask, vaeInputTensor, vaeOutputToImages } from '../../src/pipeline/image-tensors.js';
import { firstStepIndex, generationMode } from '../../src/pipeline/generate.js';
import type { RawImage } from '../../src/image/types.js';

const rgb = (w: number, h: number, f: (x: number, y: number) => [number, number, number]): RawImage => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), 3 * (y * w + x));
  return { data, width: w, height: h, channels: 3 };
};

describe('image ↔ tensor conversions (diffusers image processors)', () => {
  it('ControlNet conditioning is CHW in [0,1], with -1 where the inpaint mask says', () => {
    const img = rgb(2, 1, (x) => (x === 0 ? [255, 0, 51] : [0, 255, 102]));
    const t = controlTensor(img, Uint8Array.from([0, 1]));
    [1, -1, 0, -1, 0.2, -1].forEach((v, i) => expect(t[i]).toBeCloseTo(v, 6));
  });

  it('VAE input is CHW in [-1,1]; masked pixels become 0', () => {
    const img = rgb(2, 1, () => [255, 0, 255]);
    expect(Array.from(vaeInputTensor(img))).toEqual([1, 1, -1, -1, 1, 1]);
    expect(Array.from(vaeInputTensor(img, Uint8Array.from([1, 0])))).toEqual([0, 1, 0, -1, 0, 1]);
  });

  it('VAE output maps (x/2+0.5) clamped to [0,1], ×255, rounded', () => {
    const decoded = Float32Array.from([-2, 0, 1, 0.5, /* G */ -1, 0.01, 2, -0.5, /* B */ 0, 0, 0, 0]);
    const [img] = vaeOutputToImages(decoded, 1, 2, 2);
    expect(Array.from(img.data.subarray(0, 6))).toEqual([0, 0, 128, 128, 129, 128]);
    expect(img.data[9]).toBe(Math.round(0.75 * 255));
  });

  it('masks binarise at 0.5 of PIL luma and downsample by nearest neighbour', () => {
    const mask = rgb(
      4,
      1,
      (x) =>
        [
          [127, 127, 127],
          [128, 128, 128],
          [255, 0, 0],
          [0, 255, 0],
        ][x] as [number, number, number],
    );
    expect(Array.from(binaryMask(mask))).toEqual([0, 1, 0, 1]);
    const big = Uint8Array.from({ length: 16 * 8 }, (_, p) => (p % 16 >= 8 ? 1 : 0));
    expect(Array.from(latentMask(big, 16, 8, 2, 1))).toEqual([0, 1]);
  });
});

describe('img2img / inpaint step selection (diffusers get_timesteps)', () => {
  it.each([
    [30, 0.55, 1, 14],
    [30, 1, 1, 0],
    [50, 0.3, 1, 35],
    [20, 0.5, 2, 20],
    [10, 0.05, 1, 10],
  ])('%i steps at strength %f with order %i start at index %i', (steps, strength, order, index) => {
    expect(firstStepIndex(steps, strength, order)).toBe(index);
  });

  it('chooses the mode from the inputs', () => {
    const img = rgb(1, 1, () => [0, 0, 0]);
    expect(generationMode({ initImage: null, maskImage: null, strength: 0.5 })).toBe('txt2img');
    expect(generationMode({ initImage: img, maskImage: null, strength: 1 })).toBe('txt2img');
    expect(generationMode({ initImage: img, maskImage: null, strength: 0.7 })).toBe('img2img');
    expect(generationMode({ initImage: img, maskImage: img, strength: 1 })).toBe('inpaint');
  });
});
