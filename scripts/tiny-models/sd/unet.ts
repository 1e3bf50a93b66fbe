/**
 * UNet2DConditionModel with ControlNet inputs: sample, timestep, encoder_hidden_states, the 12 down-block
 * residuals and the mid-block residual (added where diffusers adds down_block_additional_residuals and
 * mid_block_additional_residual) -> out_sample.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { newGraph, type BuildOptions } from './build-options.js';
import { silu } from '../layers/activation.js';
import { conv2d } from '../layers/conv.js';
import { groupNorm } from '../layers/norm.js';
import type { ModelSetConfig } from './config.js';
import { latentDims, textDims } from './dims.js';
import { floatInput, floatOutput, timestepInput, type ExportFormat } from './formats.js';
import { upsample2D } from './resampling.js';
import { transformer2D } from './transformer-2d.js';
import { activatedTimeEmbedding, convIn, downPath, downResidualSlots, midBlockChannels, timeEmbedDim, transformerSpec, unetResnet } from './unet-down-path.js';

export const residualInputName = (i: number): string => `down_block_res_${i}`;
export const MID_RESIDUAL_NAME = 'mid_block_res';

/**
 * Declares extra conditioning inputs (after encoder_hidden_states; SDXL: text_embeds, time_ids) and returns their
 * embedding [batch, timeEmbedDim], added to the time embedding.
 */
export type AddedConditioning = (g: GraphBuilder, format: ExportFormat, timeEmbedDim: number) => string;

export interface UNetBuildOptions extends BuildOptions {
  /** false: a plain UNet without the 13 residual inputs (what other tools keep in `unet/` beside their ControlNet UNet). */
  residualInputs?: boolean;
  addedConditioning?: AddedConditioning;
}

export function buildUNet(set: ModelSetConfig, format: ExportFormat, opts: UNetBuildOptions = {}): GraphBuilder {
  const cfg = set.unet;
  const g = newGraph('unet', format, set.seeds.unet, opts);
  const sample = floatInput(g, format, 'sample', latentDims(cfg.inChannels));
  const timestep = timestepInput(g, format);
  const context = floatInput(g, format, 'encoder_hidden_states', textDims(set.text.maxPositions, cfg.crossAttentionDim));
  const added = opts.addedConditioning?.(g, format, timeEmbedDim(cfg));
  const slots = downResidualSlots(cfg);
  const withResiduals = opts.residualInputs !== false;
  const extraResiduals = withResiduals ? slots.map((slot, i) => floatInput(g, format, residualInputName(i), latentDims(slot.channels, slot.level))) : [];
  const extraMid = withResiduals ? floatInput(g, format, MID_RESIDUAL_NAME, latentDims(midBlockChannels(cfg), cfg.blockOutChannels.length - 1)) : undefined;

  const temb = activatedTimeEmbedding(g, cfg, timestep, added);
  const down = downPath(g, cfg, convIn(g, cfg, sample), temb, context);
  if (down.residuals.length !== slots.length) throw new Error('unet: residual slots and down path disagree');
  const skips = withResiduals ? down.residuals.map((r, i) => g.op('Add', [r, extraResiduals[i]!], {}, `${residualInputName(i)}/Add`)) : [...down.residuals];
  let h = extraMid === undefined ? down.mid : g.op('Add', [down.mid, extraMid], {}, `${MID_RESIDUAL_NAME}/Add`);

  // Up blocks mirror the down blocks; each resnet consumes one skip from the end of the list.
  const blocks = cfg.blockOutChannels.length;
  let prevOut = midBlockChannels(cfg);
  for (let up = 0; up < blocks; up++) {
    const mirrored = blocks - 1 - up;
    const out = cfg.blockOutChannels[mirrored]!;
    const lastSkipChannels = cfg.blockOutChannels[Math.max(mirrored - 1, 0)]!;
    const cross = cfg.downBlockTypes[mirrored] === 'CrossAttnDownBlock2D';
    const spec = transformerSpec(cfg, out, cfg.attentionHeads[mirrored]!, cfg.onlyCrossAttention[mirrored]!);
    for (let layer = 0; layer <= cfg.layersPerBlock; layer++) {
      const skip = skips.pop()!;
      const skipChannels = layer === cfg.layersPerBlock ? lastSkipChannels : out;
      const inChannels = (layer === 0 ? prevOut : out) + skipChannels;
      h = g.op('Concat', [h, skip], { axis: 1 }, `up_blocks.${up}/SkipConcat`);
      h = unetResnet(g, cfg, h, temb, `up_blocks.${up}.resnets.${layer}`, inChannels, out);
      if (cross) h = transformer2D(g, h, context, `up_blocks.${up}.attentions.${layer}`, spec);
    }
    if (up < blocks - 1) h = upsample2D(g, h, `up_blocks.${up}.upsamplers.0`, out, skips[skips.length - 1]);
    prevOut = out;
  }
  const c0 = cfg.blockOutChannels[0]!;
  h = silu(g, groupNorm(g, h, 'conv_norm_out', { channels: c0, groups: cfg.normNumGroups, eps: cfg.normEps }));
  h = conv2d(g, h, 'conv_out', { inChannels: c0, outChannels: cfg.outChannels, kernel: 3 });
  floatOutput(g, format, h, 'out_sample', latentDims(cfg.outChannels));
  return g;
}
