import type { RawImage } from '../image/types.js';
import { HintError } from './errors.js';

/** Throws a HintError naming `field` unless `image` is a well-formed RawImage. */
export function checkImage(image: RawImage | undefined, field: string): asserts image is RawImage {
  if (image === undefined || image === null || !(image.data instanceof Uint8Array)) {
    throw new HintError(`${field} must be an image`);
  }
  const { width, height, channels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new HintError(`${field} has an invalid size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new HintError(`${field} must have 1, 3 or 4 channels, not ${channels}`);
  }
  if (image.data.length !== width * height * channels) {
    throw new HintError(`${field} holds ${image.data.length} bytes, expected ${width}x${height}x${channels}`);
  }
}

/** `value` (or `fallback` when undefined), checked to be a finite number in [min, max]; integers only if asked. */
export function numberOption(value: number | undefined, field: string, fallback: number, min: number, max: number, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new HintError(`${field} must be a${integer ? 'n integer' : ' number'}, got ${String(value)}`);
  }
  if (value < min || value > max) {
    throw new HintError(`${field} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Short side the detector sees; controlnet_aux's default is 512. */
export function readDetectResolution(options: { detectResolution?: number }): number {
  return numberOption(options.detectResolution, 'detectResolution', 512, 64, 4096, true);
}

// |dx|+|dy| of a 3×3 Sobel on 8-bit data stays below 2*1020: a larger threshold could never fire.
const MAX_CANNY_THRESHOLD = 2040;

/** Canny thresholds (default 100 / 200, as the annotators); OpenCV swaps them when low > high. */
export function readCannyThresholds(options: { lowThreshold?: number; highThreshold?: number }): { low: number; high: number } {
  return {
    low: numberOption(options.lowThreshold, 'lowThreshold', 100, 0, MAX_CANNY_THRESHOLD),
    high: numberOption(options.highThreshold, 'highThreshold', 200, 0, MAX_CANNY_THRESHOLD),
  };
}
