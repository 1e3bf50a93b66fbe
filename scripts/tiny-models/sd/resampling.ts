/** diffusers' Downsample2D and Upsample2D (use_conv=True). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { conv2d } from '../layers/conv.js';
import { resizeNearest2x, resizeNearestTo } from '../layers/spatial.js';

/**
 * Stride-2 3x3 conv. padding 1 (UNet): out = ceil(size / 2). padding 0 (VAE encoder): diffusers pads one zero
 * row and column at the bottom/right first, out = floor(size / 2).
 */
export function downsample2D(g: GraphBuilder, x: string, name: string, channels: number, padding: 0 | 1 = 1): string {
  const pads = padding === 1 ? ([1, 1, 1, 1] as const) : ([0, 0, 1, 1] as const);
  return conv2d(g, x, `${name}.conv`, { inChannels: channels, outChannels: channels, kernel: 3, stride: 2, pads });
}

/** Nearest upsampling to the size of `like` (the next skip: diffusers' upsample_size) or 2x, then a 3x3 conv. */
export function upsample2D(g: GraphBuilder, x: string, name: string, channels: number, like?: string): string {
  const up = like === undefined ? resizeNearest2x(g, x) : resizeNearestTo(g, x, like);
  return conv2d(g, up, `${name}.conv`, { inChannels: channels, outChannels: channels, kernel: 3 });
}
