import { describe, expect, it } from 'vitest';
import { noiseDisk } from '../../src/preprocessors/content-shuffle.js';
import { seededRandom } from '../../src/preprocessors/prng.js';
import { makeHint } from '../../src/preprocessors/registry.js';
import { readRgb } from './helpers.js';

describe('seededRandom', () => {
  it('repeats per seed, differs across seeds (both 32-bit halves), and is uniform in [0, 1)', () => {
    const draw = (seed: number, n = 1000) => Array.from({ length: n }, seededRandom(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(7)).not.toEqual(draw(7 + 2 ** 32));
    const values = draw(1, 20000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });
});

describe('noiseDisk', () => {
  it('is a smooth field stretched to exactly [0, 1]', () => {
    const field = noiseDisk(512, 384, 256, seededRandom(3));
    let min = Infinity;
    let max = -Infinity;
    let steepest = 0;
    for (let y = 0; y < 384; y++) {
      for (let x = 0; x < 512; x++) {
        const v = field[y * 512 + x];
        min = Math.min(min, v);
        max = Math.max(max, v);
        if (x > 0) steepest = Math.max(steepest, Math.abs(v - field[y * 512 + x - 1]));
      }
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(steepest).toBeLessThan(0.02); // a cubic over 256-px cells changes slowly
  });
});

describe('shuffle hint', () => {
  it('is the same for the same seed and differs across seeds', async () => {
    const image = await readRgb('coffee.png');
    const options = { width: 256, height: 128, detectResolution: 128 };
    const a = await makeHint('shuffle', image, { ...options, seed: 11 });
    const b = await makeHint('shuffle', image, { ...options, seed: 11 });
    const c = await makeHint('shuffle', image, { ...options, seed: 12 });
    expect(a.image.data).toEqual(b.image.data);
    let differing = 0;
    for (let i = 0; i < a.image.data.length; i++) if (a.image.data[i] !== c.image.data[i]) differing++;
    expect(differing / a.image.data.length).toBeGreaterThan(0.5);
  });

  it('moves content without inventing colours', async () => {
    // Left half red, right half blue: every shuffled pixel blends the two (bilinear sampling).
    const w = 128;
    const data = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) data[i * 3 + (i % w < w / 2 ? 0 : 2)] = 255;
    const hint = await makeHint('shuffle', { data, width: w, height: w, channels: 3 }, { width: w, height: w, detectResolution: w, seed: 5 });
    let red = 0;
    let blue = 0;
    for (let i = 0; i < w * w; i++) {
      const [r, g, b] = hint.image.data.subarray(i * 3, i * 3 + 3);
      expect(g).toBe(0);
      expect(Math.abs(r! + b! - 255)).toBeLessThanOrEqual(1);
      if (r! > 250) red++;
      if (b! > 250) blue++;
    }
    expect(red).toBeGreaterThan(w * w * 0.05);
    expect(blue).toBeGreaterThan(w * w * 0.05);
  });

  it('rejects a seed that is not a non-negative integer', async () => {
    const image = await readRgb('rocket.png');
    await expect(makeHint('shuffle', image, { width: 64, height: 64, seed: -1 })).rejects.toThrow(/seed/);
    await expect(makeHint('shuffle', image, { width: 64, height: 64, seed: 1.5 })).rejects.toThrow(/seed/);
  });
});
