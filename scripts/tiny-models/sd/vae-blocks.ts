/** Pieces shared by the VAE encoder and decoder: their resnets, mid block and output head. */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { silu } from '../layers/activation.js';
import { conv2d } from '../layers/conv.js';
import { groupNorm } from '../layers/norm.js';
import type { VaeConfig } from './config.js';
import { resnetBlock2D } from './resnet.js';
import { VAE_NORM_EPS, vaeAttention } from './vae-attention.js';

export function vaeResnet(g: GraphBuilder, cfg: VaeConfig, x: string, name: string, inChannels: number, outChannels: number): string {
  return resnetBlock2D(g, x, undefined, name, { inChannels, outChannels, groups: cfg.normNumGroups, eps: VAE_NORM_EPS });
}

/** UNetMidBlock2D without time embedding: resnet, attention, resnet. */
export function vaeMidBlock(g: GraphBuilder, cfg: VaeConfig, x: string, name: string, channels: number): string {
  let h = vaeResnet(g, cfg, x, `${name}.resnets.0`, channels, channels);
  h = vaeAttention(g, h, `${name}.attentions.0`, channels, cfg.normNumGroups);
  return vaeResnet(g, cfg, h, `${name}.resnets.1`, channels, channels);
}

/** conv_norm_out, SiLU, conv_out. */
export function vaeOutputHead(g: GraphBuilder, cfg: VaeConfig, x: string, prefix: string, inChannels: number, outChannels: number, gain?: number): string {
  const h = silu(g, groupNorm(g, x, `${prefix}.conv_norm_out`, { channels: inChannels, groups: cfg.normNumGroups, eps: VAE_NORM_EPS }));
  return conv2d(g, h, `${prefix}.conv_out`, { inChannels, outChannels, kernel: 3, gain });
}
