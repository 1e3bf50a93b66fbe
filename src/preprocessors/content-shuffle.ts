import type { RawImage } from '../image/types.js';
import { cubicResizeCrop } from './cubic-resample.js';

/**
 * controlnet_aux's `make_noise_disk`: uniform noise on a coarse grid ((H/F + 2) × (W/F + 2)), upsampled
 * bicubically to (H + 2F) × (W + 2F), the central H×W kept and stretched to [0, 1]: a smooth random field.
 */
export function noiseDisk(width: number, height: number, cell: number, random: () => number): Float64Array {
  const gw = Math.floor(width / cell) + 2;
  const gh = Math.floor(height / cell) + 2;
  const grid = new Float64Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = random();
  const field = cubicResizeCrop(grid, gw, gh, width + 2 * cell, height + 2 * cell, cell, cell, width, height);
  let min = Infinity;
  let max = -Infinity;
  for (const v of field) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let i = 0; i < field.length; i++) field[i] = range > 0 ? (field[i] - min) / range : 0;
  return field;
}

/**
 * controlnet_aux's ContentShuffleDetector: every output pixel samples the input (bilinearly) at a position
 * given by two smooth random fields, which scrambles the layout while keeping colours and local textures.
 * `cell` is the field's coarseness (f = 256 there).
 */
export function contentShuffle(rgb: RawImage, random: () => number, cell = 256): RawImage {
  const { data, width: w, height: h, channels: c } = rgb;
  const fx = noiseDisk(w, h, cell, random);
  const fy = noiseDisk(w, h, cell, random);
  const out = new Uint8Array(w * h * c);
  for (let i = 0, o = 0; i < w * h; i++, o += c) {
    const sx = fx[i] * (w - 1);
    const sy = fy[i] * (h - 1);
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const x1 = Math.min(x0 + 1, w - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const tx = sx - x0;
    const ty = sy - y0;
    const a = (y0 * w + x0) * c;
    const b = (y0 * w + x1) * c;
    const d = (y1 * w + x0) * c;
    const e = (y1 * w + x1) * c;
    for (let k = 0; k < c; k++) {
      const top = data[a + k] + (data[b + k] - data[a + k]) * tx;
      const bottom = data[d + k] + (data[e + k] - data[d + k]) * tx;
      out[o + k] = Math.round(top + (bottom - top) * ty);
    }
  }
  return { data: out, width: w, height: h, channels: c };
}
