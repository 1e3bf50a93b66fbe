/** diffusers' ResnetBlock2D (the UNet's, with a time projection, and the VAE's, without). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { silu } from '../layers/activation.js';
import { conv2d } from '../layers/conv.js';
import { linear } from '../layers/linear.js';
import { groupNorm } from '../layers/norm.js';

export interface ResnetSpec {
  inChannels: number;
  outChannels: number;
  groups: number;
  eps: number;
  /** Width of the time embedding, when the block has a time_emb_proj. */
  tembChannels?: number;
}

/**
 * norm1, SiLU, conv1, (+ time_emb_proj(SiLU(temb)) per channel), norm2, SiLU, conv2, plus the shortcut (a 1x1
 * conv_shortcut when the width changes). `tembActivated` is SiLU(temb), computed once by the caller.
 */
export function resnetBlock2D(g: GraphBuilder, x: string, tembActivated: string | undefined, name: string, spec: ResnetSpec): string {
  const { inChannels, outChannels, groups, eps } = spec;
  let h = silu(g, groupNorm(g, x, `${name}.norm1`, { channels: inChannels, groups, eps }));
  h = conv2d(g, h, `${name}.conv1`, { inChannels, outChannels, kernel: 3 });
  if (spec.tembChannels !== undefined) {
    if (tembActivated === undefined) throw new Error(`${name}: needs a time embedding`);
    const t = linear(g, tembActivated, `${name}.time_emb_proj`, { inFeatures: spec.tembChannels, outFeatures: outChannels });
    h = g.op('Add', [h, g.op('Unsqueeze', [t, g.int64([2, 3])])], {}, `${name}/AddTime`);
  }
  h = silu(g, groupNorm(g, h, `${name}.norm2`, { channels: outChannels, groups, eps }));
  h = conv2d(g, h, `${name}.conv2`, { inChannels: outChannels, outChannels, kernel: 3 });
  const shortcut = inChannels === outChannels ? x : conv2d(g, x, `${name}.conv_shortcut`, { inChannels, outChannels, kernel: 1 });
  return g.op('Add', [shortcut, h], {}, `${name}/Residual`);
}
