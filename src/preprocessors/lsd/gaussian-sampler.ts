/** A single-channel float image. */
export interface FloatImage {
  data: Float64Array;
  width: number;
  height: number;
}

/**
 * LSD's first step: resample by `scale` (< 1 shrinks) with a Gaussian anti-aliasing filter of standard
 * deviation sigmaScale/scale, the kernel centred on each output pixel's exact source position (x/scale) and
 * the image mirrored at its borders. Separable: columns of the output first, then rows.
 */
export function gaussianSample(src: FloatImage, scale: number, sigmaScale: number): FloatImage {
  const sigma = scale < 1 ? sigmaScale / scale : sigmaScale;
  // Kernel half-width where the Gaussian falls below 10^-3 of its peak.
  const half = Math.ceil(sigma * Math.sqrt(2 * 3 * Math.LN10));
  const outW = Math.floor(src.width * scale);
  const outH = Math.floor(src.height * scale);
  if (outW < 1 || outH < 1) throw new RangeError(`image ${src.width}x${src.height} too small for scale ${scale}`);

  const horizontal = samplingTaps(outW, src.width, scale, sigma, half);
  const vertical = samplingTaps(outH, src.height, scale, sigma, half);
  const n = 2 * half + 1;

  const tmp = new Float64Array(outW * src.height);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width;
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let i = 0, t = x * n; i < n; i++, t++) sum += src.data[row + horizontal.index[t]] * horizontal.weight[t];
      tmp[y * outW + x] = sum;
    }
  }
  // Vertical pass row by row: each tap adds a whole source row, which reads memory in order.
  const out = new Float64Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const o = y * outW;
    for (let i = 0, t = y * n; i < n; i++, t++) {
      const from = vertical.index[t] * outW;
      const k = vertical.weight[t];
      for (let x = 0; x < outW; x++) out[o + x] += tmp[from + x] * k;
    }
  }
  return { data: out, width: outW, height: outH };
}

/** For each output coordinate, the n source indices (mirrored into range) and normalised Gaussian weights. */
function samplingTaps(outSize: number, inSize: number, scale: number, sigma: number, half: number) {
  const n = 2 * half + 1;
  const index = new Int32Array(outSize * n);
  const weight = new Float64Array(outSize * n);
  const period = 2 * inSize;
  for (let o = 0; o < outSize; o++) {
    const pos = o / scale;
    const centre = Math.floor(pos + 0.5);
    const mean = half + pos - centre;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = i - mean;
      const w = Math.exp((-0.5 * d * d) / (sigma * sigma));
      weight[o * n + i] = w;
      total += w;
      // Mirror with the edge sample repeated: ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
      let j = (centre - half + i) % period;
      if (j < 0) j += period;
      if (j >= inSize) j = period - 1 - j;
      index[o * n + i] = j;
    }
    for (let i = 0; i < n; i++) weight[o * n + i] /= total;
  }
  return { index, weight };
}
