import type { RawImage } from '../image/types.js';

/**
 * Any RawImage as 3-channel RGB, as controlnet_aux's HWC3: gray is replicated, RGBA is composited over
 * white (colour * a + 255 * (1 - a), truncated to 8 bits). A 3-channel image is returned as is.
 */
export function toRgb(image: RawImage): RawImage {
  const { data, width, height, channels } = image;
  if (channels === 3) return image;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (channels === 1) {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const v = data[i];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 3) {
      // float32 arithmetic as numpy does it; storing into a Uint8Array truncates like astype(uint8).
      const a = Math.fround(data[s + 3] / 255);
      const w = Math.fround(255 * Math.fround(1 - a));
      out[o] = Math.min(255, Math.fround(Math.fround(data[s] * a) + w));
      out[o + 1] = Math.min(255, Math.fround(Math.fround(data[s + 1] * a) + w));
      out[o + 2] = Math.min(255, Math.fround(Math.fround(data[s + 2] * a) + w));
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** One channel repeated three times: how a single-channel hint becomes the RGB image a ControlNet takes. */
export function grayToRgb(gray: Uint8Array, width: number, height: number): RawImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const v = gray[i];
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
  }
  return { data: out, width, height, channels: 3 };
}

/** Luma of an RGB image with OpenCV 4's fixed-point RGB2GRAY (0.299, 0.587, 0.114 in Q15, rounded). */
export function rgbToGray(rgb: RawImage): Uint8Array {
  const n = rgb.width * rgb.height;
  const c = rgb.channels;
  const d = rgb.data;
  const out = new Uint8Array(n);
  if (c === 1) {
    out.set(d);
    return out;
  }
  for (let i = 0, s = 0; i < n; i++, s += c) {
    out[i] = (d[s] * 9798 + d[s + 1] * 19235 + d[s + 2] * 3735 + 16384) >> 15;
  }
  return out;
}

/** Luma as PIL's `convert("L")` computes it (ITU-R 601-2 weights in Q16, rounded); alpha is ignored. */
export function pilLuma(image: RawImage): Uint8Array {
  const n = image.width * image.height;
  const c = image.channels;
  const d = image.data;
  const out = new Uint8Array(n);
  if (c === 1) {
    out.set(d);
    return out;
  }
  for (let i = 0, s = 0; i < n; i++, s += c) {
    out[i] = (d[s] * 19595 + d[s + 1] * 38470 + d[s + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}
