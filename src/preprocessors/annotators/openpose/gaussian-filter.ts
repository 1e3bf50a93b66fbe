/**
 * scipy.ndimage.gaussian_filter of a float64 plane: taps out to 4σ (truncate = 4, radius int(4σ + 0.5)),
 * mode "reflect" (the edge sample repeated: c b a | a b c), rows axis first as scipy does.
 */
export function scipyGaussianFilter(src: Float64Array, w: number, h: number, sigma: number, out = new Float64Array(w * h)): Float64Array {
  const radius = Math.trunc(4 * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    total += kernel[i + radius];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= total;
  // Along y (axis 0): whole rows at a time, in memory order.
  const tmp = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let k = 0; k < kernel.length; k++) {
      const from = reflect(y + k - radius, h) * w;
      const weight = kernel[k];
      for (let x = 0; x < w; x++) tmp[o + x] += src[from + x] * weight;
    }
  }
  // Along x: each row copied into a buffer padded with its reflection.
  const padded = new Float64Array(w + 2 * radius);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let i = 0; i < padded.length; i++) padded[i] = tmp[o + reflect(i - radius, w)];
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let k = 0; k < kernel.length; k++) sum += padded[x + k] * kernel[k];
      out[o + x] = sum;
    }
  }
  return out;
}

function reflect(i: number, size: number): number {
  const period = 2 * size;
  i %= period;
  if (i < 0) i += period;
  return i < size ? i : period - 1 - i;
}
