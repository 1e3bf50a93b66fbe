/**
 * The float32 `log256_ps` and `sincos256_ps` of torch's avx_mathfun.h (Pommier's Cephes-based SSE
 * math ported to AVX), so torch's AVX2 `normal_fill` can be reproduced bit for bit.
 *
 * Vectors are 8 lanes held in a Float64Array(8) (each lane a float32 value). Every float operation
 * is a double operation followed by `Math.fround`, which is exact for +, -, * and sqrt of floats.
 * The lanes are processed step by step, like the SIMD original: the rounding chains of different
 * lanes then overlap, about twice as fast as one lane at a time.
 *
 * torch builds this header with `-mavx2 -mfma`, and GCC contracts each multiply whose only use is an
 * add into a fused multiply-add; `fma` reproduces those (the product of two floats is exact in
 * double, so only the final double-then-float rounding can differ from a true FMA, when the double
 * lands exactly on a float midpoint: about 2^-28 per operation). Against torch's own output
 * (test/fixtures/golden/randn.json) every value matches bit for bit, and unfusing any of the polynomial
 * multiply-adds breaks that; the fused j*DP3 of the range reduction follows the same GCC rule but
 * changes nothing observable there (theta < 2pi keeps j <= 8).
 */

/** Eight float32 lanes. */
export type Lanes = Float64Array;
export const LANES = 8;

export function makeLanes(): Lanes {
  return new Float64Array(LANES);
}

const fr = Math.fround;

function fma(a: number, b: number, c: number): number {
  return fr(a * b + c);
}

// Float32 constants, as the header declares them.
const SQRTHF = fr(0.707106781186547524);
const LOG_P0 = fr(7.0376836292e-2);
const LOG_P1 = fr(-1.151461031e-1);
const LOG_P2 = fr(1.167699874e-1);
const LOG_P3 = fr(-1.2420140846e-1);
const LOG_P4 = fr(1.4249322787e-1);
const LOG_P5 = fr(-1.6668057665e-1);
const LOG_P6 = fr(2.0000714765e-1);
const LOG_P7 = fr(-2.4999993993e-1);
const LOG_P8 = fr(3.3333331174e-1);
const LOG_Q1 = fr(-2.1219444e-4);
const LOG_Q2 = fr(0.693359375);
const MIN_NORM_POS = 2 ** -126;

const FOPI = fr(1.27323954473516); // 4/pi
const MINUS_DP1 = fr(-0.78515625);
const MINUS_DP2 = fr(-2.4187564849853515625e-4);
const MINUS_DP3 = fr(-3.77489497744594108e-8);
const SIN_P0 = fr(-1.9515295891e-4);
const SIN_P1 = fr(8.3321608736e-3);
const SIN_P2 = fr(-1.6666654611e-1);
const COS_P0 = fr(2.443315711809948e-5);
const COS_P1 = fr(-1.388731625493765e-3);
const COS_P2 = fr(4.166664568298827e-2);

// Scratch vectors (module-level: JavaScript runs one call at a time per thread).
const bitsF32 = new Float32Array(LANES);
const bitsU32 = new Uint32Array(bitsF32.buffer);
const vE = makeLanes();
const vM = makeLanes();
const vZ = makeLanes();
const vY = makeLanes();
const vOctant = new Int32Array(LANES);

/**
 * `log256_ps`: out[i] = log(x[i]) for positive finite floats (subnormals are clamped to the
 * smallest normal as in the original; x <= 0 or NaN gives NaN). `out` may be `x`.
 */
export function avx2Log8(x: Lanes, out: Lanes): void {
  // Split x = m * 2^e with m in [0.5, 1); then m < sqrt(1/2) ? (2m - 1, e - 1) : (m - 1, e).
  for (let i = 0; i < LANES; i++) {
    const xi = x[i];
    bitsF32[i] = xi < MIN_NORM_POS ? MIN_NORM_POS : xi;
    const bits = bitsU32[i];
    vE[i] = (bits >>> 23) - 0x7f + 1;
    bitsU32[i] = (bits & 0x807fffff) | 0x3f000000;
  }
  for (let i = 0; i < LANES; i++) {
    let m = bitsF32[i];
    if (m < SQRTHF) {
      vE[i] -= 1;
      m = fr(fr(m - 1) + m);
    } else {
      m = fr(m - 1);
    }
    vM[i] = m;
    vZ[i] = fr(m * m);
  }
  for (let i = 0; i < LANES; i++) {
    const m = vM[i];
    let y = fma(LOG_P0, m, LOG_P1);
    y = fma(y, m, LOG_P2);
    y = fma(y, m, LOG_P3);
    y = fma(y, m, LOG_P4);
    vY[i] = y;
  }
  for (let i = 0; i < LANES; i++) {
    const m = vM[i];
    let y = fma(vY[i], m, LOG_P5);
    y = fma(y, m, LOG_P6);
    y = fma(y, m, LOG_P7);
    y = fma(y, m, LOG_P8);
    vY[i] = fr(y * m);
  }
  for (let i = 0; i < LANES; i++) {
    const m = vM[i];
    const z = vZ[i];
    const e = vE[i];
    let y = fma(vY[i], z, fr(e * LOG_Q1));
    y = fr(y - fr(z * 0.5));
    const result = fr(fr(m + y) + fr(e * LOG_Q2));
    out[i] = x[i] > 0 ? result : NaN;
  }
}

/**
 * `sincos256_ps`: sin and cos of each lane of `x` (accurate for |x| < 8192, like the original).
 * `sin`, `cos` and `x` must be distinct vectors.
 */
export function avx2Sincos8(x: Lanes, sin: Lanes, cos: Lanes): void {
  // Octant j (rounded up to even), then r = ((|x| - j*DP1) - j*DP2) - j*DP3; the first two
  // products are exact, the third is fused.
  for (let i = 0; i < LANES; i++) {
    const ax = Math.abs(x[i]);
    const j = ((fr(ax * FOPI) | 0) + 1) & ~1;
    vOctant[i] = j;
    let r = fr(ax + j * MINUS_DP1);
    r = fr(r + j * MINUS_DP2);
    r = fma(j, MINUS_DP3, r);
    vM[i] = r;
    vZ[i] = fr(r * r);
  }
  // Cosine polynomial on [0, pi/4], into cos.
  for (let i = 0; i < LANES; i++) {
    const z = vZ[i];
    let c = fma(COS_P0, z, COS_P1);
    c = fma(c, z, COS_P2);
    c = fr(c * z);
    c = fma(c, z, -fr(z * 0.5));
    cos[i] = fr(c + 1);
  }
  // Sine polynomial on [0, pi/4], into sin.
  for (let i = 0; i < LANES; i++) {
    const z = vZ[i];
    const r = vM[i];
    let s = fma(SIN_P0, z, SIN_P1);
    s = fma(s, z, SIN_P2);
    s = fr(s * z);
    sin[i] = fma(s, r, r);
  }
  // Swap the polynomials in octants 2, 3, 6, 7 and apply the signs.
  for (let i = 0; i < LANES; i++) {
    const j = vOctant[i];
    let s = sin[i];
    let c = cos[i];
    if (j & 2) {
      const t = s;
      s = c;
      c = t;
    }
    sin[i] = ((j & 4) !== 0) !== x[i] < 0 ? -s : s;
    cos[i] = ((j - 2) & 4) === 0 ? -c : c;
  }
}
