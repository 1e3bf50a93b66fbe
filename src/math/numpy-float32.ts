/**
 * numpy's `np.log` of float32 arrays, bit for bit, on x86-64 machines with AVX2+FMA3 or AVX512F
 * (numpy ≥ 1.18 dispatches contiguous float32 `log` to its own SIMD loop there). That loop is a
 * rational minimax approximation, accurate to ~4 ulp, so `Math.fround(Math.log(x))` differs from
 * it in about one value in five. diffusers' k-samplers take `np.log` of their float32 training
 * sigmas (`log_sigmas`) and invert sigmas to timesteps with it.
 */
import { fma32 } from './sleef-float32.js';

const f32 = Math.fround;

const P = [0, 9.999999999999998702752e-1, 2.112677543073053063722, 1.480000633576506585156, 3.808837741388407920751e-1, 2.589979117907922693523e-2].map(f32);
const Q = [1, 2.612677543073109236779, 2.453006071784736363091, 9.864942958519418960339e-1, 1.546476374983906719538e-1, 5.87509540312457434295e-3].map(f32);
const LOGE2 = f32(0.693147180559945309417232121458176568);
const SQRT1_2 = f32(0.707106781186547524400844362104849039);
const bits = new DataView(new ArrayBuffer(4));

/** np.log of one float32 (normal, positive inputs through numpy's SIMD polynomial). */
export function numpyLogf(x: number): number {
  const v = f32(x);
  if (Number.isNaN(v) || v < 0) return NaN;
  if (v === 0) return -Infinity;
  if (v === Infinity) return Infinity;
  // v = m · 2^e with m in [0.5, 1) (subnormals normalised first).
  const scale = v < 2 ** -126 ? 2 ** 64 : 1;
  bits.setFloat32(0, v * scale);
  const word = bits.getUint32(0);
  let e = ((word >>> 23) & 0xff) - 126 - (scale === 1 ? 0 : 64);
  bits.setUint32(0, (word & 0x807fffff) | (126 << 23));
  let m = bits.getFloat32(0);
  if (m <= SQRT1_2) {
    m = f32(m + m);
    e -= 1;
  }
  const t = f32(m - 1);
  let num = fma32(P[5], t, P[4]);
  let den = fma32(Q[5], t, Q[4]);
  for (let i = 3; i >= 0; i--) {
    num = fma32(num, t, P[i]);
    den = fma32(den, t, Q[i]);
  }
  return fma32(e, LOGE2, f32(num / den));
}
