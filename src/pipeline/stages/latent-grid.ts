import type { ModelDescription } from '../model-description.js';

/** The latent map of one sample at an image size: the image divided by the VAE's scale factor. */
export interface LatentGrid {
  channels: number;
  height: number;
  width: number;
  /** channels × height × width. */
  size: number;
  /** [batch, channels, height, width]. */
  dims(batch: number): number[];
}

export function latentGrid(description: ModelDescription, width: number, height: number): LatentGrid {
  const f = description.vaeScaleFactor;
  const channels = description.latentChannels;
  const lh = Math.floor(height / f);
  const lw = Math.floor(width / f);
  return { channels, height: lh, width: lw, size: channels * lh * lw, dims: (batch) => [batch, channels, lh, lw] };
}
