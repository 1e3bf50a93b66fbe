import { describe, expect, it } from 'vitest';
import { avx2Log8, avx2Sincos8, LANES, makeLanes } from '../../src/math/avx2-mathfun-float32.js';

function ulpF32(v: number): number {
  const a = Math.abs(Math.fround(v));
  return 2 ** (Math.max(Math.floor(Math.log2(a)), -126) - 23);
}

describe('avx2Log8', () => {
  it('is within an ulp of log on (0, 1] and beyond, in float32 values', () => {
    const x = makeLanes();
    const out = makeLanes();
    let worst = 0;
    let notFloat32 = 0;
    for (let k = 0; k < 80_000; k += LANES) {
      for (let i = 0; i < LANES; i++) x[i] = Math.fround(((k + i + 1) / 80_000) * (i === 7 ? 1000 : 1));
      avx2Log8(x, out);
      for (let i = 0; i < LANES; i++) {
        if (Math.fround(out[i]) !== out[i]) notFloat32++;
        const exact = Math.log(x[i]);
        if (exact !== 0) worst = Math.max(worst, Math.abs(out[i] - exact) / ulpF32(exact));
      }
    }
    expect(notFloat32).toBe(0);
    expect(worst).toBeLessThan(1);
  });

  it('gives NaN for non-positive lanes, clamps subnormals, and may work in place', () => {
    const x = Float64Array.from([0, -1, NaN, 2 ** -140, 1, 0.5, 2, 1e-3]);
    avx2Log8(x, x);
    expect(x[0]).toBeNaN();
    expect(x[1]).toBeNaN();
    expect(x[2]).toBeNaN();
    expect(x[3]).toBeCloseTo(Math.log(2 ** -126), 4);
    expect(x[4]).toBe(0);
    expect(x[5]).toBe(Math.fround(-Math.LN2));
    expect(x[6]).toBe(Math.fround(Math.LN2));
    expect(Math.abs(x[7] - Math.log(1e-3))).toBeLessThan(1e-6);
  });
});

describe('avx2Sincos8', () => {
  it('is within 1.2e-7 of sin and cos on [-4pi, 4pi], signs included', () => {
    const x = makeLanes();
    const s = makeLanes();
    const c = makeLanes();
    let worst = 0;
    for (let k = 0; k < 80_000; k += LANES) {
      for (let i = 0; i < LANES; i++) x[i] = Math.fround(((k + i) / 80_000 - 0.5) * 8 * Math.PI);
      avx2Sincos8(x, s, c);
      for (let i = 0; i < LANES; i++) {
        worst = Math.max(worst, Math.abs(s[i] - Math.sin(x[i])), Math.abs(c[i] - Math.cos(x[i])));
      }
    }
    expect(worst).toBeLessThan(1.2e-7);
  });
});
