import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfArray, toHalfBits } from '../../src/onnx/half.js';

describe('float16 conversion', () => {
  it('encodes known values', () => {
    expect(toHalfBits(0)).toBe(0x0000);
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(toHalfBits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('rounds to nearest, ties to even, overflowing to infinity', () => {
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(toHalfBits(65519)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00);
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal: even (0)
    expect(toHalfBits(3 * 2 ** -25)).toBe(0x0002); // tie between subnormals 1 and 2: even (2)
    expect(toHalfBits(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up out of the subnormals
  });

  it('round-trips every finite half exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromHalfBits(bits);
      if (Number.isNaN(value)) continue;
      if (toHalfBits(value) !== bits) throw new Error(`bits ${bits.toString(16)} -> ${value} -> ${toHalfBits(value).toString(16)}`);
    }
    expect(Array.from(toHalfArray(new Float32Array([1, -0.5])))).toEqual([0x3c00, 0xb800]);
  });
});
