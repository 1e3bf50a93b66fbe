/** Layout and resampling helpers for NCHW feature maps. */
import type { GraphBuilder } from '../../../src/onnx/graph.js';

/** [B, C, H, W] -> [B, H*W, C] (tokens for attention). */
export function toTokens(g: GraphBuilder, x: string): string {
  const flat = g.op('Reshape', [x, g.int64([0, 0, -1])]);
  return g.op('Transpose', [flat], { perm: [0, 2, 1] }, 'ToTokens');
}

/** [B, H*W, C] -> [B, C, H, W] with the shape of `like` (which has the same batch, channels and size). */
export function fromTokens(g: GraphBuilder, tokens: string, like: string): string {
  const channelsFirst = g.op('Transpose', [tokens], { perm: [0, 2, 1] });
  return g.op('Reshape', [channelsFirst, g.op('Shape', [like])], {}, 'FromTokens');
}

/** Nearest-neighbour resize, torch's F.interpolate(mode="nearest") semantics (floor of dst * in / out). */
const NEAREST = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } as const;

/** Upsamples x to the spatial size of `like` (diffusers' upsample_size: works for odd sizes too). */
export function resizeNearestTo(g: GraphBuilder, x: string, like: string): string {
  const batchChannels = g.op('Shape', [x], { start: 0, end: 2 });
  const size = g.op('Shape', [like], { start: 2, end: 4 });
  const sizes = g.op('Concat', [batchChannels, size], { axis: 0 });
  return g.op('Resize', [x, '', '', sizes], NEAREST, 'Upsample');
}

/** Nearest-neighbour 2x upsampling (diffusers' Upsample2D without a target size). */
export function resizeNearest2x(g: GraphBuilder, x: string): string {
  return g.op('Resize', [x, '', g.float32([1, 1, 2, 2])], NEAREST, 'Upsample');
}
