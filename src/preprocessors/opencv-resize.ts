/**
 * OpenCV's `cv2.resize` of 8-bit images (interleaved channels), reproduced bit for bit: INTER_LANCZOS4
 * (OpenCV's fixed-point path for 8-bit: 11-bit coefficients, integer sums, rounding shift) and INTER_AREA
 * when shrinking (the exact 2×/k× box path and the float coverage-weighted path). controlnet_aux's
 * `resize_image` uses these two before every detector: LANCZOS4 to enlarge, AREA to shrink.
 */
import type { RawImage } from '../image/types.js';

const f32 = Math.fround;
const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/** cvRound: to nearest, ties to even. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
const clampShort = (v: number) => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

const S45 = 0.70710678118654752440084436210485;
const LANCZOS_CS: readonly (readonly [number, number])[] = [
  [1, 0],
  [-S45, -S45],
  [0, 1],
  [S45, -S45],
  [-1, 0],
  [S45, S45],
  [0, -1],
  [-S45, S45],
];

/** OpenCV's interpolateLanczos4: the 8 float coefficients for fractional offset `x`, normalised in float. */
function lanczos4Coefficients(x: number, out: Float64Array): void {
  const x3 = f32(x + 3);
  const y0 = -x3 * Math.PI * 0.25;
  const s0 = Math.sin(y0);
  const c0 = Math.cos(y0);
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const d = f32(x3 - i);
    if (Math.abs(d) >= f32(1e-6)) {
      const y = -d * Math.PI * 0.25;
      out[i] = f32((LANCZOS_CS[i][0] * s0 + LANCZOS_CS[i][1] * c0) / (y * y));
    } else {
      out[i] = f32(1e30);
    }
    sum = f32(sum + out[i]);
  }
  const inv = f32(1 / sum);
  for (let i = 0; i < 8; i++) out[i] = f32(out[i] * inv);
}

/** Per output position of one axis: the first source index (before clamping) and 8 fixed-point weights. */
function lanczos4Axis(srcSize: number, dstSize: number): { first: Int32Array; weights: Int32Array } {
  const scale = 1 / (dstSize / srcSize);
  const first = new Int32Array(dstSize);
  const weights = new Int32Array(dstSize * 8);
  const c = new Float64Array(8);
  for (let d = 0; d < dstSize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    fx = f32(fx - sx);
    lanczos4Coefficients(fx, c);
    first[d] = sx - 3;
    for (let k = 0; k < 8; k++) weights[d * 8 + k] = clampShort(roundEven(c[k] * COEF_SCALE));
  }
  return { first, weights };
}

function resizeLanczos4(src: RawImage, dw: number, dh: number): RawImage {
  const { width: sw, height: sh, channels: cn, data } = src;
  const xs = lanczos4Axis(sw, dw);
  const ys = lanczos4Axis(sh, dh);
  // Horizontal pass over every source row: integer sums (pixel × 11-bit weight).
  const rowLen = dw * cn;
  const horiz = new Int32Array(sh * rowLen);
  const taps = new Int32Array(dw * 8);
  for (let d = 0; d < dw; d++) {
    for (let k = 0; k < 8; k++) {
      const s = xs.first[d] + k;
      taps[d * 8 + k] = (s < 0 ? 0 : s >= sw ? sw - 1 : s) * cn;
    }
  }
  for (let y = 0; y < sh; y++) {
    const row = y * sw * cn;
    const out = y * rowLen;
    for (let d = 0; d < dw; d++) {
      const t = d * 8;
      for (let ch = 0; ch < cn; ch++) {
        const b = row + ch;
        let v = 0;
        for (let k = 0; k < 8; k++) v += data[b + taps[t + k]] * xs.weights[t + k];
        horiz[out + d * cn + ch] = v;
      }
    }
  }
  // Vertical pass: 22-bit fixed point, rounded by adding half and shifting (floor), then saturated.
  const out = new Uint8Array(dh * rowLen);
  const half = 2 ** (2 * COEF_BITS - 1);
  const unit = 2 ** (2 * COEF_BITS);
  const rows = new Int32Array(8);
  for (let d = 0; d < dh; d++) {
    for (let k = 0; k < 8; k++) {
      const s = ys.first[d] + k;
      rows[k] = (s < 0 ? 0 : s >= sh ? sh - 1 : s) * rowLen;
    }
    const o = d * rowLen;
    const w = ys.weights.subarray(d * 8, d * 8 + 8);
    const [w0, w1, w2, w3, w4, w5, w6, w7] = w;
    const [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
    for (let x = 0; x < rowLen; x++) {
      const s =
        horiz[r0 + x] * w0 +
        horiz[r1 + x] * w1 +
        horiz[r2 + x] * w2 +
        horiz[r3 + x] * w3 +
        horiz[r4 + x] * w4 +
        horiz[r5 + x] * w5 +
        horiz[r6 + x] * w6 +
        horiz[r7 + x] * w7;
      out[o + x] = clampByte(Math.floor((s + half) / unit));
    }
  }
  return { data: out, width: dw, height: dh, channels: cn };
}

/** INTER_AREA with integer factors: box sums; 2×2 rounds (sum + 2) >> 2 (OpenCV's vector path), others sum·(1/n) to even. */
function resizeAreaFast(src: RawImage, dw: number, dh: number, fx: number, fy: number): RawImage {
  const { width: sw, channels: cn, data } = src;
  const out = new Uint8Array(dw * dh * cn);
  const twoByTwo = fx === 2 && fy === 2 && (cn === 1 || cn === 3 || cn === 4);
  const scale = f32(1 / (fx * fy));
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      for (let ch = 0; ch < cn; ch++) {
        let sum = 0;
        for (let j = 0; j < fy; j++) {
          const row = (y * fy + j) * sw;
          for (let i = 0; i < fx; i++) sum += data[(row + x * fx + i) * cn + ch];
        }
        out[(y * dw + x) * cn + ch] = twoByTwo ? (sum + 2) >> 2 : clampByte(roundEven(f32(sum * scale)));
      }
    }
  }
  return { data: out, width: dw, height: dh, channels: cn };
}

interface AreaTab {
  di: Int32Array;
  si: Int32Array;
  alpha: Float64Array;
}

/** OpenCV's computeResizeAreaTab: source cells per output cell, partial cells weighted by their share (float). */
function areaTab(srcSize: number, dstSize: number, scale: number): AreaTab {
  const di: number[] = [];
  const si: number[] = [];
  const alpha: number[] = [];
  for (let d = 0; d < dstSize; d++) {
    const fs1 = d * scale;
    const fs2 = fs1 + scale;
    const cell = Math.min(scale, srcSize - fs1);
    let s2 = Math.floor(fs2);
    let s1 = Math.ceil(fs1);
    s2 = Math.min(s2, srcSize - 1);
    s1 = Math.min(s1, s2);
    if (s1 - fs1 > 1e-3) {
      di.push(d);
      si.push(s1 - 1);
      alpha.push(f32((s1 - fs1) / cell));
    }
    for (let s = s1; s < s2; s++) {
      di.push(d);
      si.push(s);
      alpha.push(f32(1 / cell));
    }
    if (fs2 - s2 > 1e-3) {
      di.push(d);
      si.push(s2);
      alpha.push(f32(Math.min(Math.min(fs2 - s2, 1), cell) / cell));
    }
  }
  return { di: Int32Array.from(di), si: Int32Array.from(si), alpha: Float64Array.from(alpha) };
}

/** INTER_AREA with fractional factors: OpenCV's ResizeArea_Invoker, float row buffers and float row weights. */
function resizeAreaGeneric(src: RawImage, dw: number, dh: number, scaleX: number, scaleY: number): RawImage {
  const { width: sw, height: sh, channels: cn, data } = src;
  const xt = areaTab(sw, dw, scaleX);
  const yt = areaTab(sh, dh, scaleY);
  const rowLen = dw * cn;
  const out = new Uint8Array(dh * rowLen);
  const buf = new Float32Array(rowLen);
  const sum = new Float32Array(rowLen);
  let prev = -1;
  for (let j = 0; j < yt.di.length; j++) {
    const beta = yt.alpha[j];
    const dy = yt.di[j];
    const row = yt.si[j] * sw * cn;
    buf.fill(0);
    for (let k = 0; k < xt.di.length; k++) {
      const d = xt.di[k] * cn;
      const s = row + xt.si[k] * cn;
      const a = xt.alpha[k];
      for (let ch = 0; ch < cn; ch++) buf[d + ch] = buf[d + ch] + f32(data[s + ch] * a);
    }
    if (dy !== prev) {
      if (prev >= 0) for (let x = 0; x < rowLen; x++) out[prev * rowLen + x] = clampByte(roundEven(sum[x]));
      for (let x = 0; x < rowLen; x++) sum[x] = beta * buf[x];
      prev = dy;
    } else {
      for (let x = 0; x < rowLen; x++) sum[x] = sum[x] + f32(beta * buf[x]);
    }
  }
  if (prev >= 0) for (let x = 0; x < rowLen; x++) out[prev * rowLen + x] = clampByte(roundEven(sum[x]));
  return { data: out, width: dw, height: dh, channels: cn };
}

export type OpenCvInterpolation = 'lanczos4' | 'area';

/**
 * `cv2.resize(image, (dw, dh), interpolation)` for 8-bit images. INTER_AREA must shrink both axes (OpenCV's
 * area mode enlarges bilinearly; that path is not reproduced): callers pass 'lanczos4' otherwise.
 */
export function resizeOpenCv(src: RawImage, dw: number, dh: number, kind: OpenCvInterpolation): RawImage {
  if (src.width === dw && src.height === dh) return src;
  if (kind === 'lanczos4') return resizeLanczos4(src, dw, dh);
  if (dw > src.width || dh > src.height) throw new Error('resizeOpenCv: INTER_AREA is reproduced for shrinking only');
  const scaleX = 1 / (dw / src.width);
  const scaleY = 1 / (dh / src.height);
  const ix = Math.round(scaleX);
  const iy = Math.round(scaleY);
  if (Math.abs(scaleX - ix) < Number.EPSILON && Math.abs(scaleY - iy) < Number.EPSILON) {
    return resizeAreaFast(src, dw, dh, ix, iy);
  }
  return resizeAreaGeneric(src, dw, dh, scaleX, scaleY);
}
