/** diffusers' Transformer2DModel (SD 1.x: conv proj_in/proj_out, one BasicTransformerBlock). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { gelu } from '../layers/activation.js';
import { attention } from '../layers/attention.js';
import { conv2d } from '../layers/conv.js';
import { linear } from '../layers/linear.js';
import { groupNorm, layerNorm } from '../layers/norm.js';
import { fromTokens, toTokens } from '../layers/spatial.js';

export interface Transformer2DSpec {
  channels: number;
  heads: number;
  groups: number;
  crossAttentionDim: number;
  /** attn1 attends to the context instead of to the tokens themselves (diffusers' only_cross_attention). */
  onlyCrossAttention: boolean;
}

const TRANSFORMER_NORM_EPS = 1e-6;
const LAYER_NORM_EPS = 1e-5;

/** diffusers' Attention: to_q, to_k, to_v without bias, multi-head attention, to_out.0 with bias. */
function attentionLayer(g: GraphBuilder, x: string, context: string, name: string, dim: number, contextDim: number, heads: number): string {
  const q = linear(g, x, `${name}.to_q`, { inFeatures: dim, outFeatures: dim, bias: false });
  const k = linear(g, context, `${name}.to_k`, { inFeatures: contextDim, outFeatures: dim, bias: false });
  const v = linear(g, context, `${name}.to_v`, { inFeatures: contextDim, outFeatures: dim, bias: false });
  const attended = attention(g, q, k, v, { heads, headDim: dim / heads, name });
  return linear(g, attended, `${name}.to_out.0`, { inFeatures: dim, outFeatures: dim });
}

/** FeedForward with GEGLU: proj to 2 * 4 * dim, value * gelu(gate), back to dim. */
function feedForward(g: GraphBuilder, x: string, name: string, dim: number): string {
  const inner = 4 * dim;
  const projected = linear(g, x, `${name}.net.0.proj`, { inFeatures: dim, outFeatures: 2 * inner });
  const [value, gate] = g.node('Split', [projected, g.int64([inner, inner])], { axis: -1 }, 2, `${name}/GEGLU`);
  const gated = g.op('Mul', [value!, gelu(g, gate!)], {}, `${name}/GEGLU`);
  return linear(g, gated, `${name}.net.2`, { inFeatures: inner, outFeatures: dim });
}

/** Pre-LN block: self- (or cross-) attention, cross-attention to the text, GEGLU feed-forward; each residual. */
function basicTransformerBlock(g: GraphBuilder, tokens: string, context: string, name: string, spec: Transformer2DSpec): string {
  const { channels: dim, heads, crossAttentionDim } = spec;
  const ln = { dim, eps: LAYER_NORM_EPS };
  let n = layerNorm(g, tokens, `${name}.norm1`, ln);
  const attn1 = spec.onlyCrossAttention
    ? attentionLayer(g, n, context, `${name}.attn1`, dim, crossAttentionDim, heads)
    : attentionLayer(g, n, n, `${name}.attn1`, dim, dim, heads);
  let h = g.op('Add', [attn1, tokens], {}, `${name}/Residual`);
  n = layerNorm(g, h, `${name}.norm2`, ln);
  h = g.op('Add', [attentionLayer(g, n, context, `${name}.attn2`, dim, crossAttentionDim, heads), h], {}, `${name}/Residual`);
  n = layerNorm(g, h, `${name}.norm3`, ln);
  return g.op('Add', [feedForward(g, n, `${name}.ff`, dim), h], {}, `${name}/Residual`);
}

/** GroupNorm, 1x1 proj_in, tokens through the block, back to NCHW, 1x1 proj_out, plus the input. */
export function transformer2D(g: GraphBuilder, x: string, context: string, name: string, spec: Transformer2DSpec): string {
  const { channels, groups } = spec;
  let h = groupNorm(g, x, `${name}.norm`, { channels, groups, eps: TRANSFORMER_NORM_EPS });
  h = conv2d(g, h, `${name}.proj_in`, { inChannels: channels, outChannels: channels, kernel: 1 });
  const tokens = basicTransformerBlock(g, toTokens(g, h), context, `${name}.transformer_blocks.0`, spec);
  h = conv2d(g, fromTokens(g, tokens, x), `${name}.proj_out`, { inChannels: channels, outChannels: channels, kernel: 1 });
  return g.op('Add', [h, x], {}, `${name}/Residual`);
}
