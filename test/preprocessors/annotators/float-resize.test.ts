import { describe, expect, it } from 'vitest';
import { LazyResize, resizePlane, resizePlanes } from '../../../src/preprocessors/annotators/float-resize.js';

const row = (values: number[]) => Float32Array.from(values);

describe('float map resizing (OpenCV semantics)', () => {
  it('INTER_LINEAR samples at half-pixel centres and clamps at the ends', () => {
    expect(Array.from(resizePlane(row([0, 4]), 2, 1, 4, 1, 'linear'))).toEqual([0, 1, 3, 4]);
    expect(Array.from(resizePlane(row([0, 4, 8, 12]), 4, 1, 2, 1, 'linear'))).toEqual([2, 10]);
  });

  it('INTER_AREA averages whole cells, and partial cells by their share', () => {
    expect(Array.from(resizePlane(row([1, 3, 5, 7]), 4, 1, 2, 1, 'area'))).toEqual([2, 6]);
    const [a, b] = resizePlane(row([3, 6, 9]), 3, 1, 2, 1, 'area');
    expect(a).toBeCloseTo((3 + 6 * 0.5) / 1.5, 5);
    expect(b).toBeCloseTo((6 * 0.5 + 9) / 1.5, 5);
  });

  it('INTER_LANCZOS4 keeps constants, hits the source samples at integer scales, and rings at a step', () => {
    const flat = resizePlane(new Float32Array(5 * 5).fill(0.7), 5, 5, 40, 40, 'lanczos4');
    for (const v of flat) expect(v).toBeCloseTo(0.7, 5);
    const step = resizePlane(row([0, 0, 0, 0, 1, 1, 1, 1]), 8, 1, 64, 1, 'lanczos4');
    expect(Math.min(...step)).toBeLessThan(0);
    expect(Math.max(...step)).toBeGreaterThan(1);
    // Shrinking by 1/2 with the taps centred between samples: symmetric around the step.
    const half = resizePlane(row([0, 0, 0, 0, 1, 1, 1, 1]), 8, 1, 4, 1, 'lanczos4');
    expect(half[1] + half[2]).toBeCloseTo(1, 5);
  });

  it('resizes several planes alike, and LazyResize reads the same values point by point', () => {
    const src = Float32Array.from({ length: 2 * 6 * 5 }, (_, i) => Math.sin(i * 0.7));
    const all = resizePlanes(src, 2, 6, 5, 17, 13, 'lanczos4');
    const lazy = new LazyResize(src, 6, 5, 17, 13, 'lanczos4');
    for (const [c, x, y] of [
      [0, 0, 0],
      [1, 16, 12],
      [1, 7, 5],
      [0, 3, 11],
    ]) {
      expect(lazy.at(c, x, y)).toBeCloseTo(all[c * 17 * 13 + y * 17 + x], 5);
    }
    expect(resizePlane(src.subarray(0, 30), 6, 5, 17, 13, 'lanczos4')).toEqual(all.subarray(0, 17 * 13));
  });
});
