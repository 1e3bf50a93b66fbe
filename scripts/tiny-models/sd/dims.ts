/** Symbolic dimension names of the generated models' inputs and outputs. */
import type { Dim } from '../../../src/onnx/onnx.js';

export const BATCH = 'batch';

/** A latent-space map at `level` halvings of the latent size: [batch, channels, ceil(h/2^level), ceil(w/2^level)]. */
export function latentDims(channels: number, level = 0): Dim[] {
  if (level === 0) return [BATCH, channels, 'height', 'width'];
  const f = 2 ** level;
  return [BATCH, channels, `ceil(height/${f})`, `ceil(width/${f})`];
}

/** An image-space map (8x the latent size): [batch, channels, image_height, image_width]. */
export function imageDims(channels: number): Dim[] {
  return [BATCH, channels, 'image_height', 'image_width'];
}

/** The text encoder's token axis is fixed at CLIP's 77 positions. */
export function textDims(tokens: number, width?: number): Dim[] {
  return width === undefined ? [BATCH, tokens] : [BATCH, tokens, width];
}
