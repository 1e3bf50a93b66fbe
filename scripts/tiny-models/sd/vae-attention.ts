/** The VAE mid block's attention (diffusers Attention with a GroupNorm, one head over all channels, residual). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { attention } from '../layers/attention.js';
import { linear } from '../layers/linear.js';
import { groupNorm } from '../layers/norm.js';
import { fromTokens, toTokens } from '../layers/spatial.js';

export const VAE_NORM_EPS = 1e-6;

export function vaeAttention(g: GraphBuilder, x: string, name: string, channels: number, groups: number): string {
  const tokens = toTokens(g, groupNorm(g, x, `${name}.group_norm`, { channels, groups, eps: VAE_NORM_EPS }));
  const proj = (p: string) => linear(g, tokens, `${name}.${p}`, { inFeatures: channels, outFeatures: channels });
  const attended = attention(g, proj('to_q'), proj('to_k'), proj('to_v'), { heads: 1, headDim: channels, name });
  const out = linear(g, attended, `${name}.to_out.0`, { inFeatures: channels, outFeatures: channels });
  return g.op('Add', [fromTokens(g, out, x), x], {}, `${name}/Residual`);
}
