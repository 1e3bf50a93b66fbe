import sharp from 'sharp';
import type { RawImage } from './types.js';

/** Thrown when bytes are not an image sharp can decode, or one over the limits. */
export class ImageDecodeError extends Error {}

/**
 * Decodes PNG/JPEG/WebP/... to 8-bit RGB, applying the EXIF orientation first (diffusers'
 * `load_image` does `exif_transpose`) and dropping alpha as PIL's `convert("RGB")` does.
 */
export async function decodeToRgb(bytes: Uint8Array, maxPixels: number): Promise<RawImage> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(`unexpected channel count ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    const reason = (err as Error).message ?? String(err);
    if (/pixel limit/i.test(reason)) {
      throw new ImageDecodeError(`image is larger than the limit of ${maxPixels} pixels`);
    }
    throw new ImageDecodeError(`not a decodable image (${reason.split('\n')[0]})`);
  }
}

export async function encodePng(image: RawImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Resizes an RGB image to exactly width×height (Lanczos, as PIL's resize in diffusers' image processor). */
export async function resizeRgb(image: RawImage, width: number, height: number): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: image.channels };
}
