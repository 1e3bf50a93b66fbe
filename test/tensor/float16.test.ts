import { describe, expect, it } from 'vitest';
import { float16BitsToNumber, float16ToFloat32, float32ToFloat16, numberToFloat16Bits } from '../../src/tensor/float16.js';

// ---- An independent, slow reference: decode by the formula, encode by searching the sorted halves.

function referenceDecode(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** The 31744 finite non-negative halves in increasing order (bit pattern h has value POSITIVE[h]). */
const POSITIVE = Array.from({ length: 0x7c00 }, (_, h) => referenceDecode(h));

function referenceEncode(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // Beyond the largest half, 65504, the next step would be 65536: halfway (65520) rounds to it (even), i.e. Infinity.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const below = POSITIVE[lo]!;
  const above = POSITIVE[hi]!;
  let h: number;
  if (a - below < above - a) h = lo;
  else if (a - below > above - a) h = hi;
  else h = lo % 2 === 0 ? lo : hi; // tie: the even significand
  if (a >= above) h = hi;
  return sign | h;
}

const isHalfNaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('float16ToFloat32', () => {
  it('decodes all 65536 half patterns exactly', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const decoded = float16ToFloat32(all);
    let wrong = 0;
    for (let h = 0; h < 65536; h++) {
      const expected = referenceDecode(h);
      const single = float16BitsToNumber(h);
      const ok = Number.isNaN(expected) ? Number.isNaN(decoded[h]) && Number.isNaN(single) : Object.is(decoded[h], expected) && Object.is(single, expected);
      if (!ok) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('writes into a given output and checks its length', () => {
    const out = new Float32Array(2);
    expect(float16ToFloat32(Uint16Array.of(0x3c00, 0xc000), out)).toBe(out);
    expect(Array.from(out)).toEqual([1, -2]);
    expect(() => float16ToFloat32(new Uint16Array(3), out)).toThrow(RangeError);
  });
});

describe('float32ToFloat16', () => {
  it('encodes known values', () => {
    expect(numberToFloat16Bits(0)).toBe(0x0000);
    expect(numberToFloat16Bits(1)).toBe(0x3c00);
    expect(numberToFloat16Bits(-2)).toBe(0xc000);
    expect(numberToFloat16Bits(0.1)).toBe(0x2e66); // 0.1 rounded to float32 first, then to half
    expect(numberToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(numberToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above a tie rounds up
    expect(numberToFloat16Bits(65519)).toBe(0x7bff); // below the overflow tie
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between subnormals 1 and 2: even
  });

  it('round-trips every half value exactly (NaNs stay NaN with their sign)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const back = float32ToFloat16(float16ToFloat32(all));
    let wrong = 0;
    for (let h = 0; h < 65536; h++) {
      const ok = isHalfNaN(h) ? isHalfNaN(back[h]!) && (back[h]! & 0x8000) === (h & 0x8000) : back[h] === h;
      if (!ok) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('matches the reference on midpoints, their neighbours and random floats', () => {
    const inputs: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (POSITIVE[h]! + POSITIVE[h + 1]!) / 2; // exact in float32 (12 significant bits)
      inputs.push(mid, -mid, nextFloat32(mid, 1), nextFloat32(mid, -1));
    }
    const random = new Uint32Array(200_000);
    let state = 12345;
    for (let i = 0; i < random.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      random[i] = state;
    }
    for (const v of new Float32Array(random.buffer)) inputs.push(v);
    const src = Float32Array.from(inputs);
    const got = float32ToFloat16(src);
    let wrong = 0;
    for (let i = 0; i < src.length; i++) {
      const expected = referenceEncode(src[i]!);
      const ok = isHalfNaN(expected) ? isHalfNaN(got[i]!) : got[i] === expected;
      if (!ok) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('rounds ties to even', () => {
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway 1 .. 1+2^-10 -> 1
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway 1+2^-10 .. 1+2^-9 -> 1+2^-9
    expect(numberToFloat16Bits(2049)).toBe(numberToFloat16Bits(2048)); // 2049 is halfway 2048 .. 2050
    expect(numberToFloat16Bits(2051)).toBe(numberToFloat16Bits(2052));
    expect(numberToFloat16Bits(1.5 * 2 ** -24)).toBe(0x0002); // subnormal tie -> even
    expect(numberToFloat16Bits(2.5 * 2 ** -24)).toBe(0x0002);
    expect(numberToFloat16Bits(2 ** -25)).toBe(0x0000); // tie with zero -> zero
    expect(numberToFloat16Bits(nextFloat32(2 ** -25, 1))).toBe(0x0001);
  });

  it('overflows to Infinity past 65504 and keeps Infinity and NaN', () => {
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    expect(numberToFloat16Bits(nextFloat32(65520, -1))).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(-1e10)).toBe(0xfc00);
    expect(numberToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(numberToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(isHalfNaN(numberToFloat16Bits(NaN))).toBe(true);
    // A float NaN whose payload lies only in the low bits must not turn into Infinity.
    const lowPayloadNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
    expect(isHalfNaN(float32ToFloat16(lowPayloadNaN)[0]!)).toBe(true);
  });

  it('produces subnormals and signed zeros', () => {
    expect(numberToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(numberToFloat16Bits(-(2 ** -24))).toBe(0x8001);
    expect(numberToFloat16Bits(1023 * 2 ** -24)).toBe(0x03ff);
    expect(numberToFloat16Bits(nextFloat32(2 ** -14, -1))).toBe(0x0400); // rounds up into the normals
    expect(numberToFloat16Bits(1e-30)).toBe(0x0000);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(numberToFloat16Bits(-1e-30)).toBe(0x8000);
  });

  it('converts a subarray view and writes into a given output', () => {
    const backing = new Float32Array([9, 1, -2, 0.5, 9]);
    const out = new Uint16Array(3);
    expect(float32ToFloat16(backing.subarray(1, 4), out)).toBe(out);
    expect(Array.from(out)).toEqual([0x3c00, 0xc000, 0x3800]);
    expect(() => float32ToFloat16(backing, out)).toThrow(RangeError);
  });
});

/** The float32 next to `v` (a float32 value) towards +/-Infinity. */
function nextFloat32(v: number, direction: 1 | -1): number {
  const f = new Float32Array([v]);
  const bits = new Int32Array(f.buffer);
  bits[0]! += v >= 0 === direction > 0 ? 1 : -1;
  return f[0]!;
}
