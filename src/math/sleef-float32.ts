/**
 * torch's CPU `exp` and `log` of float32 tensors, bit for bit. ATen evaluates both through SLEEF's
 * vector functions (`Sleef_expf8_u10`, `Sleef_logf8_u10` on AVX2), 0-d tensors included: they are
 * accurate to 1 ulp but not correctly rounded, so `Math.fround(Math.exp(x))` differs from torch's
 * `exp` in about one case in ten (`log`: one in 500). Schedulers that must reproduce diffusers'
 * float32 coefficients (`torch.exp(-h)`, `sigmas.log()`) use these.
 *
 * The algorithms are SLEEF's (Cody–Waite reduction and a minimax polynomial for exp; a double-float
 * atanh series for log) with AVX2's fused multiply-adds, reimplemented on doubles: `fma32` rounds
 * a·b + c once to float32, as the hardware instruction does.
 */

const f32 = Math.fround;

/** a·b + c rounded once to float32 (a, b, c float32): the product is exact in double, the sum is corrected for double rounding. */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  // s lies exactly halfway between two floats only if its mirror image around s is a float too.
  const other = 2 * s - r;
  if (f32(other) !== other) return r;
  return (other - r) * err > 0 ? other : r;
}

const R_LN2F = f32(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2UF = f32(0.693145751953125);
const L2LF = f32(1.428606765330187045e-6);
const EXP_POLY = [
  0.000198527617612853646278381, 0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156, 0.166666671633720397949219, 0.5,
].map(f32);

/** Round half to even, as `cvtps2dq` does. */
function rintEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torch.exp on float32 (SLEEF `expf_u10`). */
export function torchExpf(x: number): number {
  const d = f32(x);
  if (Number.isNaN(d)) return NaN;
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  const q = rintEven(f32(d * R_LN2F));
  let s = fma32(q, -L2UF, d);
  s = fma32(q, -L2LF, s);
  let u = EXP_POLY[0];
  for (let i = 1; i < EXP_POLY.length; i++) u = fma32(u, s, EXP_POLY[i]);
  u = f32(1 + fma32(f32(s * s), u, s));
  const half = q >> 1;
  return f32(f32(u * 2 ** half) * 2 ** (q - half));
}

// Double-float (hi, lo) helpers, as SLEEF's df.h with FMA.
type DF = [number, number];

function dfAdd2FF(x: number, y: number): DF {
  const hi = f32(x + y);
  const v = f32(hi - x);
  return [hi, f32(f32(x - f32(hi - v)) + f32(y - v))];
}

function dfAddDD(x: DF, y: DF): DF {
  const hi = f32(x[0] + y[0]);
  return [hi, f32(f32(f32(f32(x[0] - hi) + y[0]) + x[1]) + y[1])];
}

function dfAddDF(x: DF, y: number): DF {
  const hi = f32(x[0] + y);
  return [hi, f32(f32(f32(x[0] - hi) + y) + x[1])];
}

function dfMulDF(x: DF, y: number): DF {
  const hi = f32(x[0] * y);
  return [hi, fma32(x[1], y, fma32(x[0], y, -hi))];
}

function dfDiv(n: DF, d: DF): DF {
  const t = f32(1 / d[0]);
  const hi = f32(n[0] * t);
  const u = fma32(t, n[0], -hi);
  let lo = fma32(-d[1], t, fma32(-d[0], t, 1));
  lo = fma32(hi, lo, fma32(n[1], t, u));
  return [hi, lo];
}

const FLT_MIN = 2 ** -126;
const LN2_DF: DF = [f32(0.69314718246459960938), f32(-1.904654323148236017e-9)];
const bits = new DataView(new ArrayBuffer(4));

/** torch.log on float32 (SLEEF `logf_u1`). */
export function torchLogf(x: number): number {
  let d = f32(x);
  if (Number.isNaN(d) || d < 0) return NaN;
  if (d === 0) return -Infinity;
  if (d === Infinity) return Infinity;
  const tiny = d < FLT_MIN;
  if (tiny) d = f32(d * 2 ** 64);
  bits.setFloat32(0, f32(d * f32(1 / 0.75)));
  let e = ((bits.getUint32(0) >>> 23) & 0xff) - 0x7f;
  const m = f32(d * 2 ** -e);
  if (tiny) e -= 64;
  let s = dfMulDF(LN2_DF, e);
  const x2num = dfDiv(dfAdd2FF(-1, m), dfAdd2FF(1, m));
  const xs = x2num[0];
  const x2 = f32(xs * xs);
  let t = f32(0.3027294874);
  t = fma32(t, x2, f32(0.3996108174));
  t = fma32(t, x2, f32(0.666669488));
  s = dfAddDD(s, [f32(xs * 2), f32(x2num[1] * 2)]);
  s = dfAddDF(s, f32(f32(x2 * xs) * t));
  return f32(s[0] + s[1]);
}

function dfAdd2DF(x: DF, y: number): DF {
  const hi = f32(x[0] + y);
  const v = f32(hi - x[0]);
  return [hi, f32(f32(f32(x[0] - f32(hi - v)) + f32(y - v)) + x[1])];
}

function dfAdd2DD(x: DF, y: DF): DF {
  const hi = f32(x[0] + y[0]);
  const v = f32(hi - x[0]);
  return [hi, f32(f32(f32(x[0] - f32(hi - v)) + f32(y[0] - v)) + f32(x[1] + y[1]))];
}

function dfAddFD(x: number, y: DF): DF {
  const hi = f32(x + y[0]);
  return [hi, f32(f32(f32(x - hi) + y[0]) + y[1])];
}

function dfMulDD(x: DF, y: DF): DF {
  const hi = f32(x[0] * y[0]);
  return [hi, fma32(x[0], y[1], fma32(x[1], y[0], fma32(x[0], y[0], -hi)))];
}

function dfSqu(x: DF): DF {
  const hi = f32(x[0] * x[0]);
  return [hi, fma32(f32(x[0] + x[0]), x[1], fma32(x[0], x[0], -hi))];
}

const EXPK2_POLY = [0.1980960224e-3, 0.1394256484e-2, 0.8333456703e-2, 0.4166637361e-1].map(f32);

/** SLEEF's expk2f: e^d for a double-float d, as a double-float. */
function expk2(d: DF): DF {
  const q = rintEven(f32(f32(d[0] + d[1]) * R_LN2F));
  let s = dfAdd2DF(d, f32(q * -L2UF));
  s = dfAdd2DF(s, f32(q * -L2LF));
  let u = EXPK2_POLY[0];
  for (let i = 1; i < EXPK2_POLY.length; i++) u = fma32(u, s[0], EXPK2_POLY[i]);
  let t = dfAdd2DF(dfMulDF(s, u), f32(0.166666659414234244790680580464));
  t = dfAdd2DF(dfMulDD(s, t), 0.5);
  t = dfAdd2DD(s, dfMulDD(dfSqu(s), t));
  t = dfAddFD(1, t);
  if (d[0] < -104) return [0, 0];
  const half = q >> 1;
  const scale = (v: number) => f32(f32(v * 2 ** half) * 2 ** (q - half));
  return [scale(t[0]), scale(t[1])];
}

/** torch.expm1 on float32 (SLEEF `expm1f_u10`): UniPC's `torch.expm1(hh)`. */
export function torchExpm1f(x: number): number {
  const a = f32(x);
  if (Number.isNaN(a)) return NaN;
  if (a > f32(88.72283172607421875)) return Infinity;
  if (a < f32(-16.63553233343868742601357)) return -1;
  if (Object.is(a, -0)) return -0;
  const d = dfAdd2DF(expk2([a, 0]), -1);
  return f32(d[0] + d[1]);
}
