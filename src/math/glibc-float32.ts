/**
 * glibc's single-precision `logf` and `sincosf` (sysdeps/ieee754/flt-32, the ARM optimized-routines
 * algorithms glibc 2.28+ ships), reimplemented so torch's scalar `normal_fill<float>` can be
 * reproduced bit for bit: these functions are not correctly rounded (≤ 0.82 / 0.56 ulp), so
 * `Math.fround(Math.log(x))` differs from them in about one case in a thousand.
 *
 * Both evaluate a polynomial in double and round once to float. glibc's FMA build fuses some of
 * the multiply-adds; plain double arithmetic differs from that by an ulp of double, which changes
 * the float result only when the value lies within ~2^-52 of a float rounding boundary.
 */

import { parseHexFloat as hex } from './hex-float.js';

// ---- logf: log(x) = log1p(z/c - 1) + log(c) + k*ln2, with x = 2^k z and c from a 16-entry table.

const LOGF_TABLE_BITS = 4;
const LOGF_OFF = 0x3f330000;

/** [1/c, log(c)] for the 16 subintervals of [OFF, 2*OFF] (glibc's __logf_data.tab). */
const LOGF_INVC_LOGC: ReadonlyArray<readonly [string, string]> = [
  ['0x1.661ec79f8f3bep+0', '-0x1.57bf7808caadep-2'],
  ['0x1.571ed4aaf883dp+0', '-0x1.2bef0a7c06ddbp-2'],
  ['0x1.49539f0f010bp+0', '-0x1.01eae7f513a67p-2'],
  ['0x1.3c995b0b80385p+0', '-0x1.b31d8a68224e9p-3'],
  ['0x1.30d190c8864a5p+0', '-0x1.6574f0ac07758p-3'],
  ['0x1.25e227b0b8eap+0', '-0x1.1aa2bc79c81p-3'],
  ['0x1.1bb4a4a1a343fp+0', '-0x1.a4e76ce8c0e5ep-4'],
  ['0x1.12358f08ae5bap+0', '-0x1.1973c5a611cccp-4'],
  ['0x1.0953f419900a7p+0', '-0x1.252f438e10c1ep-5'],
  ['0x1p+0', '0x0p+0'],
  ['0x1.e608cfd9a47acp-1', '0x1.aa5aa5df25984p-5'],
  ['0x1.ca4b31f026aap-1', '0x1.c5e53aa362eb4p-4'],
  ['0x1.b2036576afce6p-1', '0x1.526e57720db08p-3'],
  ['0x1.9c2d163a1aa2dp-1', '0x1.bc2860d22477p-3'],
  ['0x1.886e6037841edp-1', '0x1.1058bc8a07ee1p-2'],
  ['0x1.767dcf5534862p-1', '0x1.4043057b6ee09p-2'],
];
const LOGF_INVC = Float64Array.from(LOGF_INVC_LOGC, ([invc]) => hex(invc));
const LOGF_LOGC = Float64Array.from(LOGF_INVC_LOGC, ([, logc]) => hex(logc));
const LN2 = hex('0x1.62e42fefa39efp-1');
const LOGF_A0 = hex('-0x1.00ea348b88334p-2');
const LOGF_A1 = hex('0x1.5575b0be00b6ap-2');
const LOGF_A2 = hex('-0x1.ffffef20a4123p-2');

// Float bit access (one shared scratch word; these functions are not re-entrant across threads anyway).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** glibc `logf(x)` for a float32 `x`; the result is a float32 value. */
export function glibcLogf(x: number): number {
  f32[0] = x;
  let ix = u32[0];
  if (ix === 0x3f800000) return 0;
  if ((ix - 0x00800000) >>> 0 >= 0x7f800000 - 0x00800000) {
    // Zero, subnormal, negative, infinite or NaN.
    if ((ix & 0x7fffffff) === 0) return -Infinity;
    if (ix === 0x7f800000) return Infinity;
    if (ix & 0x80000000 || ix >= 0x7f800000) return NaN;
    f32[0] = x * 2 ** 23; // normalise the subnormal
    ix = (u32[0] - (23 << 23)) >>> 0;
  }
  const tmp = (ix - LOGF_OFF) >>> 0;
  const i = (tmp >>> (23 - LOGF_TABLE_BITS)) & ((1 << LOGF_TABLE_BITS) - 1);
  const k = (tmp | 0) >> 23;
  u32[0] = ix - (tmp & 0xff800000);
  const z = f32[0];
  const r = z * LOGF_INVC[i] - 1;
  const y0 = LOGF_LOGC[i] + k * LN2;
  const r2 = r * r;
  let y = LOGF_A1 * r + LOGF_A2;
  y = LOGF_A0 * r2 + y;
  y = y * r2 + (y0 + r);
  return Math.fround(y);
}

// ---- sincosf: one multiply-subtract range reduction by pi/2, then even/odd polynomials in double.

const HPI_INV_2_24 = hex('0x1.45F306DC9C883p+23'); // 2/pi * 2^24: the quadrant lands in bits 24..31
const HPI = hex('0x1.921FB54442D18p0');
const COS_C1 = hex('-0x1.ffffffd0c621cp-2');
const COS_C2 = hex('0x1.55553e1068f19p-5');
const COS_C3 = hex('-0x1.6c087e89a359dp-10');
const COS_C4 = hex('0x1.99343027bf8c3p-16');
const SIN_S1 = hex('-0x1.555545995a603p-3');
const SIN_S2 = hex('0x1.1107605230bc4p-7');
const SIN_S3 = hex('-0x1.994eb3774cf24p-13');

/** Top 12 bits of |x| as a float: exponent and 3 mantissa bits (glibc's range tests). */
const TOP12_PIO4 = 0x3f4; // |x| < 0.75 (glibc compares pi/4 rounded to these bits)
const TOP12_TINY = 0x398; // |x| < 2^-12
const TOP12_120 = 0x42f; // |x| < 120

function oddPoly(x: number, x2: number): number {
  const x3 = x * x2;
  const s1 = SIN_S2 + x2 * SIN_S3;
  const x5 = x3 * x2;
  const s = x + x3 * SIN_S1;
  return Math.fround(s + x5 * s1);
}

/** cos polynomial times `sign` (glibc's second table negates the coefficients). */
function evenPoly(x2: number, sign: number): number {
  const x4 = x2 * x2;
  const c2 = sign * COS_C3 + x2 * (sign * COS_C4);
  const c1 = sign + x2 * (sign * COS_C1);
  const x6 = x4 * x2;
  const c = c1 + x4 * (sign * COS_C2);
  return Math.fround(c + x6 * c2);
}

/**
 * glibc `sincosf(x)` for a float32 `x` with |x| < 120 (the fast reduction; torch only needs
 * [0, 2pi)): writes sin to `out[0]` and cos to `out[1]`, both float32 values. NaN beyond.
 */
export function glibcSincosf(x: number, out: Float64Array | Float32Array): void {
  f32[0] = x;
  const top = (u32[0] >>> 20) & 0x7ff;
  if (top < TOP12_PIO4) {
    if (top < TOP12_TINY) {
      out[0] = x;
      out[1] = 1;
      return;
    }
    const x2 = x * x;
    out[0] = oddPoly(x, x2);
    out[1] = evenPoly(x2, 1);
    return;
  }
  if (top >= TOP12_120) {
    out[0] = NaN;
    out[1] = NaN;
    return;
  }
  const n = (((x * HPI_INV_2_24) | 0) + 0x800000) >> 24;
  const r = x - n * HPI;
  // Quadrant n: sin = [s, c, -s, -c][n & 3], cos = [c, -s, -c, s][n & 3] of the reduced r.
  const sign = (n & 3) === 1 || (n & 3) === 2 ? -1 : 1;
  const rs = r * sign;
  const r2 = r * r;
  const polySign = n & 2 ? -1 : 1;
  const odd = oddPoly(rs, r2);
  const even = evenPoly(r2, polySign);
  if (n & 1) {
    out[0] = even;
    out[1] = odd;
  } else {
    out[0] = odd;
    out[1] = even;
  }
}
