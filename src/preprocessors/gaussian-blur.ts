/**
 * Separable Gaussian blur of a single-channel float image with OpenCV's automatic kernel size for 8-bit
 * images (2·round(3σ)+1 taps) and its default border (reflect-101: ... 2 1 | 0 1 2 ... ).
 */
export function gaussianBlur(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  const half = Math.round(sigma * 3);
  const n = 2 * half + 1;
  const kernel = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = i - half;
    kernel[i] = Math.exp((-0.5 * d * d) / (sigma * sigma));
    total += kernel[i];
  }
  for (let i = 0; i < n; i++) kernel[i] /= total;

  // Horizontal pass over each row copied into a buffer padded with its reflection.
  const tmp = new Float32Array(w * h);
  const padded = new Float32Array(w + 2 * half);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let i = 0; i < padded.length; i++) padded[i] = src[row + reflect101(i - half, w)];
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += padded[x + i] * kernel[i];
      tmp[row + x] = sum;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let i = 0; i < n; i++) {
      const from = reflect101(y + i - half, h) * w;
      const k = kernel[i];
      for (let x = 0; x < w; x++) out[y * w + x] += tmp[from + x] * k;
    }
  }
  return out;
}

function reflect101(i: number, size: number): number {
  if (size === 1) return 0;
  const period = 2 * size - 2;
  i %= period;
  if (i < 0) i += period;
  return i < size ? i : period - i;
}
