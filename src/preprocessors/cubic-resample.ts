// Keys' cubic convolution with a = -0.75, the kernel of OpenCV's INTER_CUBIC.
const A = -0.75;

/**
 * For `count` output coordinates starting at `first` of an axis resized from `srcSize` to `dstSize`: the
 * four source indices (clamped to the border) and weights of OpenCV's INTER_CUBIC, which samples at
 * (dst + 0.5) · srcSize / dstSize - 0.5.
 */
function cubicTaps(first: number, count: number, srcSize: number, dstSize: number) {
  const index = new Int32Array(count * 4);
  const weight = new Float64Array(count * 4);
  const scale = srcSize / dstSize;
  for (let o = 0; o < count; o++) {
    const pos = (first + o + 0.5) * scale - 0.5;
    const base = Math.floor(pos);
    const t = pos - base;
    const u = 1 - t;
    const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
    const w2 = ((A + 2) * u - (A + 3)) * u * u + 1;
    weight.set([w0, w1, w2, 1 - w0 - w1 - w2], o * 4);
    for (let k = 0; k < 4; k++) index[o * 4 + k] = Math.min(srcSize - 1, Math.max(0, base - 1 + k));
  }
  return { index, weight };
}

/**
 * Bicubic upsampling of a small single-channel float grid to dstW×dstH, computing only the window of
 * cropW×cropH output pixels at (cropX, cropY).
 */
export function cubicResizeCrop(
  src: Float64Array,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  cropX: number,
  cropY: number,
  cropW: number,
  cropH: number,
): Float64Array {
  const cols = cubicTaps(cropX, cropW, srcW, dstW);
  const rows = cubicTaps(cropY, cropH, srcH, dstH);
  const tmp = new Float64Array(srcH * cropW);
  for (let y = 0; y < srcH; y++) {
    for (let x = 0; x < cropW; x++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += src[y * srcW + cols.index[x * 4 + k]] * cols.weight[x * 4 + k];
      tmp[y * cropW + x] = sum;
    }
  }
  // Vertical pass row by row: each tap adds a whole row of `tmp`.
  const out = new Float64Array(cropW * cropH);
  for (let y = 0; y < cropH; y++) {
    const o = y * cropW;
    for (let k = 0; k < 4; k++) {
      const from = rows.index[y * 4 + k] * cropW;
      const weight = rows.weight[y * 4 + k];
      for (let x = 0; x < cropW; x++) out[o + x] += tmp[from + x] * weight;
    }
  }
  return out;
}
