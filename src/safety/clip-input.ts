/**
 * CLIPImageProcessor's preprocessing for the safety checker (openai/clip-vit-large-patch14's
 * preprocessor_config.json): resize the shortest side to 224 with Pillow's BICUBIC (the long side
 * `int(224 · long / short)`), center crop 224 × 224 (top = (h − 224) // 2), then `(x · (1/255) − mean) / std` per
 * channel in float32 → `clip_input [3, 224, 224]`.
 */
import type { RawImage } from '../image/types.js';
import { resizePilBicubic } from '../preprocessors/pil-resize.js';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** The 8-bit crop the network sees (RGB), before normalisation. */
export function clipCrop(image: RawImage, size = 224): RawImage {
  const rgb = toRgb(image);
  const { width: w, height: h } = rgb;
  const [rw, rh] = w <= h ? [size, Math.trunc((size * h) / w)] : [Math.trunc((size * w) / h), size];
  const resized = resizePilBicubic(rgb, rw, rh);
  const top = Math.floor((rh - size) / 2);
  const left = Math.floor((rw - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) out.set(resized.data.subarray(((top + y) * rw + left) * 3, ((top + y) * rw + left + size) * 3), y * size * 3);
  return { data: out, width: size, height: size, channels: 3 };
}

/** `clip_input` for one image, [3, size, size] float32. */
export function clipInput(image: RawImage, size = 224): Float32Array {
  const crop = clipCrop(image, size);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c]);
    const std = Math.fround(CLIP_STD[c]);
    // transformers: rescale (uint8 · (1/255) in float64, then float32), normalise in float32.
    for (let p = 0; p < plane; p++) out[c * plane + p] = Math.fround(Math.fround(crop.data[p * 3 + c]! * (1 / 255)) - mean) / std;
  }
  return out;
}

function toRgb(image: RawImage): RawImage {
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const q = p * image.channels;
    out[p * 3] = image.data[q]!;
    out[p * 3 + 1] = image.data[image.channels === 1 ? q : q + 1]!;
    out[p * 3 + 2] = image.data[image.channels === 1 ? q : q + 2]!;
  }
  return { data: out, width: image.width, height: image.height, channels: 3 };
}
