import type { RawImage } from '../image/types.js';

/**
 * Conversions between 8-bit HWC images and the float CHW tensors the models take, following
 * diffusers' image processors: ControlNet hints in [0, 1] (no normalisation), VAE input in [−1, 1],
 * VAE output mapped back with (x / 2 + 0.5) clamped, ×255 and rounded.
 */

/** ControlNet conditioning [3, H, W] in [0, 1]; pixels where `minusOne` is set become −1 (inpaint hints). */
export function controlTensor(image: RawImage, minusOne?: Uint8Array): Float32Array {
  const { width, height, channels, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    const s = p * channels;
    if (minusOne && minusOne[p]) {
      out[p] = out[plane + p] = out[2 * plane + p] = -1;
      continue;
    }
    const r = data[s];
    const g = channels >= 3 ? data[s + 1] : r;
    const b = channels >= 3 ? data[s + 2] : r;
    out[p] = r / 255;
    out[plane + p] = g / 255;
    out[2 * plane + p] = b / 255;
  }
  return out;
}

/** VAE encoder input [3, H, W] in [−1, 1]; pixels where `zero` is set are masked out (set to 0, i.e. grey). */
export function vaeInputTensor(image: RawImage, zero?: Uint8Array): Float32Array {
  const { width, height, channels, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    if (zero && zero[p]) continue;
    const s = p * channels;
    for (let c = 0; c < 3; c++) out[c * plane + p] = (data[s + Math.min(c, channels - 1)] / 255) * 2 - 1;
  }
  return out;
}

/** Decoded VAE output [n, 3, H, W] → n RGB images. */
export function vaeOutputToImages(decoded: Float32Array, count: number, width: number, height: number): RawImage[] {
  const plane = width * height;
  const images: RawImage[] = [];
  for (let k = 0; k < count; k++) {
    const base = k * 3 * plane;
    const rgb = new Uint8Array(3 * plane);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        let v = decoded[base + c * plane + p] / 2 + 0.5;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        rgb[3 * p + c] = Math.round(v * 255);
      }
    }
    images.push({ data: rgb, width, height, channels: 3 });
  }
  return images;
}

/**
 * Inpaint mask as diffusers' mask processor makes it: grayscale, binarised at 0.5 (white = repaint).
 * Returns one byte per pixel, 1 where the pixel is repainted.
 */
export function binaryMask(mask: RawImage): Uint8Array {
  const { width, height, channels, data } = mask;
  const out = new Uint8Array(width * height);
  for (let p = 0; p < out.length; p++) {
    const s = p * channels;
    // PIL's convert("L") in its fixed-point form, then diffusers' binarisation at 0.5.
    const l = channels >= 3 ? (data[s] * 19595 + data[s + 1] * 38470 + data[s + 2] * 7471 + 0x8000) >> 16 : data[s];
    out[p] = l >= 128 ? 1 : 0;
  }
  return out;
}

/** Nearest-neighbour downsampling of a pixel mask to the latent grid (torch's interpolate default). */
export function latentMask(mask: Uint8Array, width: number, height: number, lw: number, lh: number): Float32Array {
  const out = new Float32Array(lw * lh);
  for (let y = 0; y < lh; y++) {
    const sy = Math.min(height - 1, Math.floor((y * height) / lh));
    for (let x = 0; x < lw; x++) {
      const sx = Math.min(width - 1, Math.floor((x * width) / lw));
      out[y * lw + x] = mask[sy * width + sx];
    }
  }
  return out;
}
