/**
 * The part of UNet2DConditionModel that ControlNetModel copies: conv_in, the time embedding, the down blocks and
 * the mid block. Both models build it from here, so the ControlNet's residuals line up with the UNet's skips.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { silu } from '../layers/activation.js';
import { conv2d } from '../layers/conv.js';
import type { UNetConfig } from './config.js';
import { downsample2D } from './resampling.js';
import { resnetBlock2D } from './resnet.js';
import { timestepEmbedding } from './timestep-embedding.js';
import { transformer2D, type Transformer2DSpec } from './transformer-2d.js';

/** Channels and resolution level (number of halvings) of one down-block residual. */
export interface ResidualSlot {
  channels: number;
  level: number;
}

/**
 * diffusers' down_block_res_samples, in order: the conv_in output, each resnet(+attention) output, each
 * downsampler output. SD 1.x (4 blocks, 2 layers): 12 slots.
 */
export function downResidualSlots(cfg: UNetConfig): ResidualSlot[] {
  const slots: ResidualSlot[] = [{ channels: cfg.blockOutChannels[0]!, level: 0 }];
  cfg.blockOutChannels.forEach((channels, block) => {
    for (let layer = 0; layer < cfg.layersPerBlock; layer++) slots.push({ channels, level: block });
    if (block < cfg.blockOutChannels.length - 1) slots.push({ channels, level: block + 1 });
  });
  return slots;
}

export function midBlockChannels(cfg: UNetConfig): number {
  return cfg.blockOutChannels[cfg.blockOutChannels.length - 1]!;
}

/** The width of the time embedding (4 x the first block's channels). */
export function timeEmbedDim(cfg: UNetConfig): number {
  return 4 * cfg.blockOutChannels[0]!;
}

export function convIn(g: GraphBuilder, cfg: UNetConfig, sample: string): string {
  return conv2d(g, sample, 'conv_in', { inChannels: cfg.inChannels, outChannels: cfg.blockOutChannels[0]!, kernel: 3 });
}

/**
 * SiLU(time embedding): every resnet's time_emb_proj reads it. `added` ([batch, timeEmbedDim], e.g. SDXL's
 * text_time add_embedding) is summed with the time embedding first, as diffusers' `emb = emb + aug_emb`.
 */
export function activatedTimeEmbedding(g: GraphBuilder, cfg: UNetConfig, timestep: string, added?: string): string {
  const emb = timestepEmbedding(g, timestep, cfg.blockOutChannels[0]!, timeEmbedDim(cfg));
  return silu(g, added === undefined ? emb : g.op('Add', [emb, added], {}, 'AddAugEmbedding'));
}

export function transformerSpec(cfg: UNetConfig, channels: number, heads: number, onlyCrossAttention: boolean): Transformer2DSpec {
  return { channels, heads, groups: cfg.normNumGroups, crossAttentionDim: cfg.crossAttentionDim, onlyCrossAttention };
}

export function unetResnet(g: GraphBuilder, cfg: UNetConfig, x: string, temb: string, name: string, inChannels: number, outChannels: number): string {
  return resnetBlock2D(g, x, temb, name, { inChannels, outChannels, groups: cfg.normNumGroups, eps: cfg.normEps, tembChannels: timeEmbedDim(cfg) });
}

export interface DownPath {
  /** The down_block_res_samples values, one per ResidualSlot. */
  residuals: string[];
  /** The mid block's output. */
  mid: string;
}

/** Down blocks and mid block from the conv_in output `h`; `temb` is SiLU(time embedding), `context` the text. */
export function downPath(g: GraphBuilder, cfg: UNetConfig, h: string, temb: string, context: string): DownPath {
  const residuals = [h];
  const blocks = cfg.blockOutChannels.length;
  let channels = cfg.blockOutChannels[0]!;
  for (let block = 0; block < blocks; block++) {
    const out = cfg.blockOutChannels[block]!;
    const cross = cfg.downBlockTypes[block] === 'CrossAttnDownBlock2D';
    const spec = transformerSpec(cfg, out, cfg.attentionHeads[block]!, cfg.onlyCrossAttention[block]!);
    for (let layer = 0; layer < cfg.layersPerBlock; layer++) {
      h = unetResnet(g, cfg, h, temb, `down_blocks.${block}.resnets.${layer}`, channels, out);
      channels = out;
      if (cross) h = transformer2D(g, h, context, `down_blocks.${block}.attentions.${layer}`, spec);
      residuals.push(h);
    }
    if (block < blocks - 1) {
      h = downsample2D(g, h, `down_blocks.${block}.downsamplers.0`, out);
      residuals.push(h);
    }
  }
  const midChannels = midBlockChannels(cfg);
  const midSpec = transformerSpec(cfg, midChannels, cfg.attentionHeads[blocks - 1]!, false);
  h = unetResnet(g, cfg, h, temb, 'mid_block.resnets.0', midChannels, midChannels);
  h = transformer2D(g, h, context, 'mid_block.attentions.0', midSpec);
  h = unetResnet(g, cfg, h, temb, 'mid_block.resnets.1', midChannels, midChannels);
  return { residuals, mid: h };
}
