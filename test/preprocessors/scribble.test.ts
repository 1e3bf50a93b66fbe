import { describe, expect, it } from 'vitest';
import { makeHint } from '../../src/preprocessors/registry.js';
import { thickenLines } from '../../src/preprocessors/scribble.js';
import { channel0, count, paintRgb } from './helpers.js';

describe('thickenLines', () => {
  it('widens a 1-px line to 13 px and leaves an isolated pixel about 1 px', () => {
    const w = 64;
    const lines = new Uint8Array(w * w);
    for (let y = 8; y < 56; y++) lines[y * w + 20] = 255;
    lines[40 * w + 50] = 255;
    const thick = thickenLines(lines, w, w);
    expect(new Set(thick)).toEqual(new Set([0, 255]));
    const row = [...thick.subarray(32 * w, 33 * w)];
    expect(row.flatMap((v, x) => (v && x < 40 ? [x] : []))).toEqual([...Array(13).keys()].map((i) => 14 + i));
    expect(count(thick.subarray(36 * w + 44, 36 * w + 64))).toBe(0);
    expect(thick[40 * w + 50]).toBe(255);
  });
});

describe('scribble hint', () => {
  it('draws the outline of a shape as a thick white band and leaves the rest black', async () => {
    const w = 128;
    const inside = (x: number, y: number) => x >= 32 && x < 96 && y >= 40 && y < 88;
    const hint = channel0(
      (
        await makeHint(
          'scribble',
          paintRgb(w, w, (x, y) => (inside(x, y) ? 200 : 20)),
          { width: w, height: w, detectResolution: w },
        )
      ).image,
    );
    // Distance from a pixel centre to the rectangle's border, which runs between pixels.
    const distanceToBorder = (x: number, y: number) =>
      inside(x, y) ? Math.min(x - 31.5, 95.5 - x, y - 39.5, 87.5 - y) : Math.hypot(Math.max(31.5 - x, x - 95.5, 0), Math.max(39.5 - y, y - 87.5, 0));
    const wrong: string[] = [];
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        const d = distanceToBorder(x, y);
        const v = hint[y * w + x];
        if ((d < 4 && v !== 255) || (d > 9 && v !== 0)) wrong.push(`${x},${y}: ${v} at distance ${d}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(count(hint)).toBeGreaterThan(2 * (64 + 48) * 8);
  });
});
