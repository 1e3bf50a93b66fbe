/**
 * The canny hint at controlnet_aux's detect resolution (512) on photos whose short side is not 512,
 * against OpenCV (test/fixtures/make-fixtures.py: `resize_image` with INTER_LANCZOS4 / INTER_AREA, then
 * `cv2.Canny(…, 100, 200)`): pixel-identical. Enlarging covers 451×300, 600×400 and 741×500; shrinking
 * covers fractional INTER_AREA (902×600, 1200×800) and the exact 2× box (1024×1024).
 */
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { cannyEdges } from '../../src/preprocessors/canny-edges.js';
import { makeHint } from '../../src/preprocessors/registry.js';
import { resizeForDetection, resizeImage } from '../../src/preprocessors/resize.js';
import { channel0, readGray, readRgb } from './helpers.js';

/** Every pixel repeated n times along both axes (numpy's `repeat(n, 0).repeat(n, 1)`). */
function repeatPixels(image: RawImage, n: number): RawImage {
  const { width: w, height: h, channels: c, data } = image;
  const out = new Uint8Array(w * n * h * n * c);
  for (let y = 0; y < h * n; y++) {
    for (let x = 0; x < w * n; x++) {
      const from = (Math.floor(y / n) * w + Math.floor(x / n)) * c;
      out.set(data.subarray(from, from + c), (y * w * n + x) * c);
    }
  }
  return { data: out, width: w * n, height: h * n, channels: c };
}

const CASES: [input: string, repeat: number, expected: string][] = [
  ['coffee-451x300.png', 1, 'coffee-451x300-canny512-768x512.png'],
  ['rocket-600x400.png', 1, 'rocket-600x400-canny512-768x512.png'],
  ['astronaut-741x500.png', 1, 'astronaut-741x500-canny512-768x512.png'],
  ['coffee-451x300.png', 2, 'coffee-451x300-x2-canny512-768x512.png'],
  ['rocket-600x400.png', 2, 'rocket-600x400-x2-canny512-768x512.png'],
  ['astronaut.png', 4, 'astronaut-x4-canny512-512x512.png'],
];

/** F1 of edge pixels (exact positions) of `a` against the reference `b`. */
function edgeF1(a: Uint8Array, b: Uint8Array): number {
  let tp = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]) na++;
    if (b[i]) nb++;
    if (a[i] && b[i]) tp++;
  }
  return (2 * tp) / (na + nb);
}

describe('canny at detect resolution 512 matches controlnet_aux + OpenCV', () => {
  it.each(CASES)('%s ×%i', async (input, repeat, expectedName) => {
    const photo = await readRgb(input);
    const rgb = repeat === 1 ? photo : repeatPixels(photo, repeat);
    const expected = await readGray(expectedName);
    const detect = await resizeForDetection(rgb, 512);
    expect([detect.width, detect.height]).toEqual([expected.width, expected.height]);
    const edges = cannyEdges(detect, 100, 200);
    let differing = 0;
    for (let i = 0; i < edges.length; i++) if (edges[i] !== expected.data[i]) differing++;
    expect(differing).toBe(0);

    // The whole hint at the detect size is those edges in three channels.
    const hint = await makeHint('canny', rgb, { width: detect.width, height: detect.height, detectResolution: 512 });
    expect(channel0(hint.image)).toEqual(edges);

    // Before: sharp's Lanczos-3 lost edge agreement (recorded here so a regression to it shows).
    const lanczos3 = await resizeImage(rgb, detect.width, detect.height, 'lanczos3');
    expect(edgeF1(cannyEdges(lanczos3, 100, 200), expected.data)).toBeLessThan(0.99);
  });
});

describe('the canny hint resized to the output size matches diffusers (Pillow LANCZOS of the PIL hint)', () => {
  it.each([
    ['coffee-451x300.png', 512, 512],
    ['coffee-451x300.png', 904, 600],
    ['rocket-600x400.png', 640, 424],
    ['astronaut-741x500.png', 1024, 688],
  ] as const)('%s to %i×%i', async (input, width, height) => {
    const hint = await makeHint('canny', await readRgb(input), { width, height, detectResolution: 512 });
    const expected = await readGray(`${input.slice(0, -4)}-canny512-768x512-pil-${width}x${height}.png`);
    expect([hint.image.width, hint.image.height]).toEqual([expected.width, expected.height]);
    expect(channel0(hint.image)).toEqual(expected.data);
    const { data } = hint.image;
    let unequal = 0;
    for (let i = 0; i < width * height; i++) if (data[i * 3 + 1] !== data[i * 3] || data[i * 3 + 2] !== data[i * 3]) unequal++;
    expect(unequal).toBe(0);
  });
});
