/**
 * IEEE 754 binary16 ("half") conversion for float16 model inputs and outputs. Node 20 has no
 * Float16Array, and onnxruntime-node takes and returns float16 tensors as Uint16Array bit patterns.
 *
 * float32 -> float16 rounds to nearest, ties to even (as numpy's astype(float16) and torch's .half()
 * do), overflows to ±Infinity, keeps NaN a NaN (sign and top payload bits) and produces subnormals.
 * float16 -> float32 is exact: a 65536-entry table of float32 bit patterns, built on first use.
 */

/** Converts `src` to half bit patterns, into `out` when given (same length). */
export function float32ToFloat16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkSameLength(src.length, out.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    const abs = x & 0x7fffffff;
    let h: number;
    if (abs >= 0x38800000) {
      // |x| >= 2^-14, the smallest normal half.
      if (abs < 0x47800000) {
        // Rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even;
        // a carry propagates into the exponent, and past 65504 into Infinity (0x7c00).
        h = (abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13;
      } else if (abs <= 0x7f800000) {
        h = 0x7c00; // |x| >= 2^16 or Infinity
      } else {
        // NaN: keep the top payload bits; never let it become Infinity.
        h = 0x7c00 | ((abs >>> 13) & 0x3ff);
        if (h === 0x7c00) h = 0x7e00;
      }
    } else if (abs > 0x33000000) {
      // 2^-25 < |x| < 2^-14: a subnormal half, the significand shifted right with ties to even.
      const shift = 126 - (abs >>> 23); // 14 .. 24
      const significand = (abs & 0x7fffff) | 0x800000;
      h = (significand + (1 << (shift - 1)) - 1 + ((significand >>> shift) & 1)) >>> shift;
    } else {
      h = 0; // |x| <= 2^-25 rounds to zero (2^-25 itself ties to the even zero)
    }
    out[i] = ((x >>> 16) & 0x8000) | h;
  }
  return out;
}

/** Converts half bit patterns in `src` to float32, into `out` when given (same length). */
export function float16ToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkSameLength(src.length, out.length);
  const table = halfTables().bits;
  // Copy bit patterns rather than numbers: no float conversion, NaN payloads kept.
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = src.length;
  for (let i = 0; i < n; i++) outBits[i] = table[src[i]];
  return out;
}

/** The float32 value of one half bit pattern. */
export function float16BitsToNumber(bits: number): number {
  return halfTables().values[bits & 0xffff];
}

/** The half bit pattern nearest to `value` (ties to even). */
export function numberToFloat16Bits(value: number): number {
  scalarIn[0] = value;
  return float32ToFloat16(scalarIn, scalarOut)[0];
}

const scalarIn = new Float32Array(1);
const scalarOut = new Uint16Array(1);

/** float32 bit patterns of all 65536 halves, and the same memory as float32 values. */
let tables: { bits: Uint32Array; values: Float32Array } | null = null;

function halfTables(): { bits: Uint32Array; values: Float32Array } {
  if (tables) return tables;
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 31) {
      bits[h] = sign | 0x7f800000 | (mantissa << 13); // Infinity or NaN, payload kept
    } else if (exponent !== 0) {
      bits[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa !== 0) {
      // Subnormal half, mantissa * 2^-24: normalise into a float32 normal.
      const top = 31 - Math.clz32(mantissa); // 0 .. 9
      bits[h] = sign | ((top + 103) << 23) | ((mantissa << (23 - top)) & 0x7fffff);
    } else {
      bits[h] = sign; // ±0
    }
  }
  tables = { bits, values: new Float32Array(bits.buffer) };
  return tables;
}

function checkSameLength(srcLength: number, outLength: number): void {
  if (srcLength !== outLength) {
    throw new RangeError(`output length ${outLength} does not match input length ${srcLength}`);
  }
}
