import { describe, expect, it } from 'vitest';
import { cannyEdges } from '../../src/preprocessors/canny-edges.js';
import { HintError, makeHint } from '../../src/preprocessors/registry.js';
import { channel0, count, paintRgb, readRgb } from './helpers.js';

describe('canny hint', () => {
  it('is the canny edge map, white on black in three equal channels, when no resizing is needed', async () => {
    const image = paintRgb(128, 64, (x, y) => (x >= 30 && x < 90 && y >= 16 && y < 48 ? 180 : 10));
    const hint = await makeHint('canny', image, { width: 128, height: 64, detectResolution: 64 });
    const edges = cannyEdges(image, 100, 200);
    expect(count(edges)).toBeGreaterThan(150);
    for (let i = 0; i < 128 * 64; i++) {
      expect(hint.image.data[i * 3]).toBe(edges[i]);
      expect(hint.image.data[i * 3 + 1]).toBe(edges[i]);
      expect(hint.image.data[i * 3 + 2]).toBe(edges[i]);
    }
  });

  it('detects at the detect resolution and resizes the edges to the output size', async () => {
    // 64×64 input, detect at 128: a 1-px edge at detect scale ends up about 0.5 px wide at 64×64, shrunk
    // with Pillow's Lanczos-3 (as diffusers resizes the hint): its support is 3 output pixels either side.
    const image = paintRgb(64, 64, (x) => (x < 32 ? 0 : 200));
    const hint = await makeHint('canny', image, { width: 64, height: 64, detectResolution: 128 });
    const row = [...channel0(hint.image).subarray(32 * 64, 33 * 64)];
    const lit = row.flatMap((v, x) => (v > 0 ? [x] : []));
    expect(lit.length).toBeGreaterThan(0);
    for (const x of lit) expect(Math.abs(x - 31.5)).toBeLessThan(4);
    const peak = row.indexOf(Math.max(...row));
    expect(Math.abs(peak - 31.5)).toBeLessThan(1);
    expect(Math.max(...row)).toBeLessThan(255); // a 1-px line shrunk by 2
  });

  it('raising the thresholds only removes edges', async () => {
    const image = await readRgb('astronaut.png');
    const size = { width: 256, height: 256, detectResolution: 256 };
    const low = channel0((await makeHint('canny', image, { ...size, lowThreshold: 50, highThreshold: 100 })).image);
    const high = channel0((await makeHint('canny', image, { ...size, lowThreshold: 150, highThreshold: 250 })).image);
    for (let i = 0; i < low.length; i++) if (high[i]) expect(low[i]).toBe(255);
    expect(count(high)).toBeLessThan(count(low) * 0.7);
  });

  it('aesthetic-controlnet uses the canny hint', async () => {
    const image = await readRgb('coffee.png');
    const options = { width: 200, height: 128, detectResolution: 192 };
    expect((await makeHint('aesthetic-controlnet', image, options)).image.data).toEqual((await makeHint('canny', image, options)).image.data);
  });

  it('rejects thresholds out of range, naming the field', async () => {
    const image = paintRgb(16, 16, () => 0);
    const size = { width: 16, height: 16 };
    await expect(makeHint('canny', image, { ...size, lowThreshold: -1 })).rejects.toThrow(/lowThreshold/);
    await expect(makeHint('canny', image, { ...size, highThreshold: 5000 })).rejects.toThrow(/highThreshold/);
    await expect(makeHint('canny', image, { ...size, highThreshold: Number.NaN })).rejects.toThrow(HintError);
    await expect(makeHint('canny', image, { ...size, detectResolution: 10 })).rejects.toThrow(/detectResolution/);
  });
});
