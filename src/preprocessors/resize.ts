import sharp from 'sharp';
import type { RawImage } from '../image/types.js';
import { resizeOpenCv } from './opencv-resize.js';
import { resizePilLanczos } from './pil-resize.js';
import { grayToRgb } from './rgb.js';

export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The size controlnet_aux's `resize_image` gives: the short side scaled to `resolution`, then both sides
 * rounded to multiples of 64 (at least 64, where controlnet_aux would fail on a zero size).
 */
export function detectSize(width: number, height: number, resolution: number): { width: number; height: number } {
  const k = resolution / Math.min(width, height);
  return {
    width: Math.max(64, roundHalfEven((width * k) / 64) * 64),
    height: Math.max(64, roundHalfEven((height * k) / 64) * 64),
  };
}

/** Resizes with sharp (libvips); returns the input itself when the size already matches. */
export async function resizeImage(image: RawImage, width: number, height: number, kernel: ResizeKernel): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  let pipeline = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  }).resize(width, height, { fit: 'fill', kernel });
  // sharp widens one-channel output to sRGB unless told to stay gray.
  if (image.channels === 1) pipeline = pipeline.toColourspace('b-w');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== image.channels) throw new Error(`sharp returned ${info.channels} channels, expected ${image.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: image.channels };
}

/**
 * The detector's input: RGB resized as controlnet_aux's `resize_image`, with OpenCV's own arithmetic:
 * `INTER_LANCZOS4` when k = resolution / short side > 1, `INTER_AREA` otherwise. (When k ≤ 1 but rounding to
 * 64 enlarges one side, OpenCV's area mode interpolates bilinearly there; Lanczos-4 stands in for that case.)
 */
export async function resizeForDetection(rgb: RawImage, resolution: number): Promise<RawImage> {
  const size = detectSize(rgb.width, rgb.height, resolution);
  const shrinks = resolution / Math.min(rgb.width, rgb.height) <= 1 && size.width <= rgb.width && size.height <= rgb.height;
  return resizeOpenCv(rgb, size.width, size.height, shrinks ? 'area' : 'lanczos4');
}

/**
 * A one-channel hint map at the detect size as the RGB control image of the output size: resized as
 * diffusers' ControlNet pipelines resize controlnet_aux's PIL hint to width × height (Pillow's LANCZOS, bit
 * for bit). controlnet_aux's own INTER_LINEAR step to `image_resolution` is the identity at the default
 * detect resolution (both 512) and is not applied.
 */
export async function mapToOutput(gray: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Promise<RawImage> {
  const resized = resizePilLanczos({ data: gray, width, height, channels: 1 }, outWidth, outHeight);
  return grayToRgb(resized.data, outWidth, outHeight);
}
