import { describe, expect, it } from 'vitest';
import { glibcLogf, glibcSincosf } from '../../src/math/glibc-float32.js';

/** The spacing of float32 values around |v| (normal range). */
function ulpF32(v: number): number {
  const a = Math.abs(Math.fround(v));
  return 2 ** (Math.max(Math.floor(Math.log2(a)), -126) - 23);
}

describe('glibcLogf', () => {
  it("stays within glibc's documented 0.818 ulp and returns float32 values", () => {
    let worst = 0;
    let notCorrectlyRounded = 0;
    let notFloat32 = 0;
    for (let k = 1; k <= 100_000; k++) {
      const x = Math.fround(k / 100_000) * (k % 7 === 0 ? 2 ** 40 : 1);
      const got = glibcLogf(x);
      const exact = Math.log(x);
      if (Math.fround(got) !== got) notFloat32++;
      if (exact !== 0) worst = Math.max(worst, Math.abs(got - exact) / ulpF32(exact));
      if (got !== Math.fround(exact)) notCorrectlyRounded++;
    }
    expect(notFloat32).toBe(0);
    expect(worst).toBeLessThan(0.82);
    // The point of the port: glibc is not correctly rounded, so Math.log would not reproduce torch.
    expect(notCorrectlyRounded).toBeGreaterThan(0);
  });

  it('handles the special values as glibc does', () => {
    expect(glibcLogf(1)).toBe(0);
    expect(glibcLogf(0)).toBe(-Infinity);
    expect(glibcLogf(-0)).toBe(-Infinity);
    expect(glibcLogf(Infinity)).toBe(Infinity);
    expect(glibcLogf(-1)).toBeNaN();
    expect(glibcLogf(NaN)).toBeNaN();
    const subnormal = 2 ** -140;
    expect(Math.abs(glibcLogf(subnormal) - Math.log(subnormal))).toBeLessThan(ulpF32(Math.log(subnormal)));
  });
});

describe('glibcSincosf', () => {
  it("stays within glibc's documented 0.561 ulp on [-8pi, 8pi]", () => {
    const out = new Float64Array(2);
    let worst = 0;
    let notFloat32 = 0;
    for (let k = -50_000; k <= 50_000; k++) {
      const x = Math.fround((k / 50_000) * 8 * Math.PI);
      glibcSincosf(x, out);
      const s = Math.sin(x);
      const c = Math.cos(x);
      if (Math.fround(out[0]) !== out[0] || Math.fround(out[1]) !== out[1]) notFloat32++;
      worst = Math.max(worst, Math.abs(out[0] - s) / ulpF32(s), Math.abs(out[1] - c) / ulpF32(c));
    }
    expect(notFloat32).toBe(0);
    expect(worst).toBeLessThan(0.561);
  });

  it('returns x and 1 for tiny arguments and NaN beyond its fast range', () => {
    const out = new Float64Array(2);
    glibcSincosf(2 ** -13, out);
    expect([out[0], out[1]]).toEqual([2 ** -13, 1]);
    glibcSincosf(200, out);
    expect(out[0]).toBeNaN();
  });
});
