/**
 * OpenCV's `cv2.resize` of single-channel float maps (heatmaps, logits, depth): INTER_LINEAR, INTER_LANCZOS4
 * and INTER_AREA, separable (rows first, as OpenCV does), borders replicated. Each axis is described by
 * its taps: for output i, source indices index[start[i]..start[i+1]) with their weights.
 */
export interface AxisTaps {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

export type FloatInterpolation = 'linear' | 'lanczos4' | 'area';

function fixedTaps(dstSize: number, perOutput: number, fill: (o: number, index: Int32Array, weight: Float64Array, at: number) => void): AxisTaps {
  const start = new Int32Array(dstSize + 1);
  for (let o = 0; o <= dstSize; o++) start[o] = o * perOutput;
  const index = new Int32Array(dstSize * perOutput);
  const weight = new Float64Array(dstSize * perOutput);
  for (let o = 0; o < dstSize; o++) fill(o, index, weight, o * perOutput);
  return { start, index, weight };
}

const clampIndex = (i: number, size: number) => (i < 0 ? 0 : i >= size ? size - 1 : i);

/** INTER_LINEAR: half-pixel centres; outside the first/last centre the edge pixel is used alone. */
function linearTaps(srcSize: number, dstSize: number): AxisTaps {
  const scale = srcSize / dstSize;
  return fixedTaps(dstSize, 2, (o, index, weight, at) => {
    const f = (o + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let t = f - s;
    if (s < 0) {
      s = 0;
      t = 0;
    }
    if (s >= srcSize - 1) {
      s = srcSize - 1;
      t = 0;
    }
    index[at] = s;
    index[at + 1] = clampIndex(s + 1, srcSize);
    weight[at] = 1 - t;
    weight[at + 1] = t;
  });
}

/** INTER_LANCZOS4: 8 taps of sinc(x)·sinc(x/4), normalised to sum 1. */
function lanczos4Taps(srcSize: number, dstSize: number): AxisTaps {
  const scale = srcSize / dstSize;
  return fixedTaps(dstSize, 8, (o, index, weight, at) => {
    const f = (o + 0.5) * scale - 0.5;
    const s = Math.floor(f);
    const t = f - s;
    let sum = 0;
    for (let k = 0; k < 8; k++) {
      const d = t + 3 - k;
      const w = Math.abs(d) < 1e-7 ? 1 : (4 * Math.sin(Math.PI * d) * Math.sin((Math.PI * d) / 4)) / (Math.PI * Math.PI * d * d);
      weight[at + k] = w;
      index[at + k] = clampIndex(s - 3 + k, srcSize);
      sum += w;
    }
    for (let k = 0; k < 8; k++) weight[at + k] /= sum;
  });
}

/** INTER_AREA when shrinking: each output averages the source cells it covers, partial cells by their share. */
function areaTaps(srcSize: number, dstSize: number): AxisTaps {
  const scale = srcSize / dstSize;
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(dstSize + 1);
  for (let o = 0; o < dstSize; o++) {
    start[o] = index.length;
    const f1 = o * scale;
    const f2 = f1 + scale;
    const cell = Math.min(scale, srcSize - f1);
    const s2 = Math.min(Math.floor(f2), srcSize - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    if (s1 - f1 > 1e-3) {
      index.push(s1 - 1);
      weight.push((s1 - f1) / cell);
    }
    for (let s = s1; s < s2; s++) {
      index.push(s);
      weight.push(1 / cell);
    }
    if (f2 - s2 > 1e-3) {
      index.push(s2);
      weight.push(Math.min(Math.min(f2 - s2, 1), cell) / cell);
    }
  }
  start[dstSize] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** The taps of one axis resized from srcSize to dstSize. */
export function axisTaps(kind: FloatInterpolation, srcSize: number, dstSize: number): AxisTaps {
  if (kind === 'lanczos4') return lanczos4Taps(srcSize, dstSize);
  // OpenCV's INTER_AREA enlarging is bilinear-like; callers use it only to shrink.
  if (kind === 'area' && srcSize > dstSize) return areaTaps(srcSize, dstSize);
  return linearTaps(srcSize, dstSize);
}

/**
 * Resizes the plane `src` (sw×sh, row-major) to dw×dh. `out` may be given to avoid an allocation; the input
 * is returned as is when the size already matches.
 */
export function resizePlane(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
  kind: FloatInterpolation,
  out: Float32Array = new Float32Array(dw * dh),
): Float32Array {
  if (sw === dw && sh === dh) return src;
  const xs = axisTaps(kind, sw, dw);
  const ys = axisTaps(kind, sh, dh);
  return resampleWith(src, sw, sh, dw, dh, xs, ys, new Float32Array(sh * dw), out);
}

function resampleWith(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
  xs: AxisTaps,
  ys: AxisTaps,
  tmp: Float32Array,
  out: Float32Array,
): Float32Array {
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    const o = y * dw;
    for (let x = 0; x < dw; x++) {
      let sum = 0;
      for (let k = xs.start[x]; k < xs.start[x + 1]; k++) sum += src[row + xs.index[k]] * xs.weight[k];
      tmp[o + x] = sum;
    }
  }
  // Vertical pass row by row, reading whole rows of `tmp` in memory order.
  out.fill(0, 0, dw * dh);
  for (let y = 0; y < dh; y++) {
    const o = y * dw;
    for (let k = ys.start[y]; k < ys.start[y + 1]; k++) {
      const from = ys.index[k] * dw;
      const w = ys.weight[k];
      for (let x = 0; x < dw; x++) out[o + x] += tmp[from + x] * w;
    }
  }
  return out;
}

/**
 * Resizes `channels` planes stored one after another (CHW), each as resizePlane does; the taps are computed
 * once for all of them.
 */
export function resizePlanes(src: Float32Array, channels: number, sw: number, sh: number, dw: number, dh: number, kind: FloatInterpolation): Float32Array {
  if (sw === dw && sh === dh) return src;
  const xs = axisTaps(kind, sw, dw);
  const ys = axisTaps(kind, sh, dh);
  const out = new Float32Array(channels * dw * dh);
  const tmp = new Float32Array(sh * dw);
  for (let c = 0; c < channels; c++) {
    resampleWith(src.subarray(c * sw * sh, (c + 1) * sw * sh), sw, sh, dw, dh, xs, ys, tmp, out.subarray(c * dw * dh, (c + 1) * dw * dh));
  }
  return out;
}

/**
 * A CHW map resized lazily: `at(c, x, y)` is what resizePlanes would hold at (x, y) of channel c (up to
 * float rounding), computed from the taps of that one pixel. For maps read at a few points only.
 */
export class LazyResize {
  private readonly xs: AxisTaps;
  private readonly ys: AxisTaps;

  constructor(
    private readonly src: Float32Array,
    private readonly sw: number,
    private readonly sh: number,
    dw: number,
    dh: number,
    kind: FloatInterpolation,
  ) {
    this.xs = axisTaps(kind, sw, dw);
    this.ys = axisTaps(kind, sh, dh);
  }

  at(c: number, x: number, y: number): number {
    const { xs, ys, src, sw } = this;
    const plane = c * sw * this.sh;
    let sum = 0;
    for (let j = ys.start[y]; j < ys.start[y + 1]; j++) {
      const row = plane + ys.index[j] * sw;
      let rowSum = 0;
      for (let i = xs.start[x]; i < xs.start[x + 1]; i++) rowSum += src[row + xs.index[i]] * xs.weight[i];
      sum += rowSum * ys.weight[j];
    }
    return sum;
  }
}
