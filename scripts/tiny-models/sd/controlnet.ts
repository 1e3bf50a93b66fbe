/**
 * ControlNetModel: the UNet's down/mid path with the conditioning embedding added after conv_in, and a 1x1
 * "zero conv" on each residual and the mid output. The zero convs are small random here, not zero, so the hint
 * changes the result. Outputs: down_block_res_0..11, mid_block_res (shapes of the UNet's residual inputs).
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { newGraph, type BuildOptions } from './build-options.js';
import { silu } from '../layers/activation.js';
import { conv2d } from '../layers/conv.js';
import type { ControlNetConfig, ModelSetConfig } from './config.js';
import { imageDims, latentDims, textDims } from './dims.js';
import { floatInput, floatOutput, timestepInput, type ExportFormat } from './formats.js';
import { MID_RESIDUAL_NAME, residualInputName, type AddedConditioning } from './unet.js';
import { activatedTimeEmbedding, convIn, downPath, downResidualSlots, midBlockChannels, timeEmbedDim } from './unet-down-path.js';

/** Weight range of the zero convs relative to a variance-preserving init. */
const ZERO_CONV_GAIN = 0.25;

/** ControlNetConditioningEmbedding: conv_in, (conv, stride-2 conv) per step with SiLU, conv_out to `outChannels`. */
function conditioningEmbedding(g: GraphBuilder, cond: string, cfg: ControlNetConfig, outChannels: number): string {
  const channels = cfg.conditioningEmbeddingChannels;
  const name = 'controlnet_cond_embedding';
  let h = silu(g, conv2d(g, cond, `${name}.conv_in`, { inChannels: cfg.conditioningChannels, outChannels: channels[0]!, kernel: 3 }));
  for (let i = 0; i < channels.length - 1; i++) {
    const cin = channels[i]!;
    h = silu(g, conv2d(g, h, `${name}.blocks.${2 * i}`, { inChannels: cin, outChannels: cin, kernel: 3 }));
    h = silu(g, conv2d(g, h, `${name}.blocks.${2 * i + 1}`, { inChannels: cin, outChannels: channels[i + 1]!, kernel: 3, stride: 2 }));
  }
  return conv2d(g, h, `${name}.conv_out`, { inChannels: channels[channels.length - 1]!, outChannels, kernel: 3 });
}

export interface ControlNetBuildOptions extends BuildOptions {
  /**
   * diffusers' global_pool_conditions (the shuffle ControlNet): each output is averaged over its height and width,
   * [batch, C, 1, 1], and the UNet broadcasts it.
   */
  pooled?: boolean;
  /** Extra conditioning inputs after conditioning_scale (SDXL: text_embeds, time_ids); see AddedConditioning. */
  addedConditioning?: AddedConditioning;
}

export function buildControlNet(set: ModelSetConfig, format: ExportFormat, opts: ControlNetBuildOptions = {}): GraphBuilder {
  const cfg = set.unet;
  const g = newGraph('controlnet', format, set.seeds.controlnet, opts);
  const sample = floatInput(g, format, 'sample', latentDims(cfg.inChannels));
  const timestep = timestepInput(g, format);
  const context = floatInput(g, format, 'encoder_hidden_states', textDims(set.text.maxPositions, cfg.crossAttentionDim));
  const cond = floatInput(g, format, 'controlnet_cond', imageDims(set.controlnet.conditioningChannels));
  const scale = format.conditioningScale ? g.input('conditioning_scale', 'float32', []) : undefined;
  const added = opts.addedConditioning?.(g, format, timeEmbedDim(cfg));

  const temb = activatedTimeEmbedding(g, cfg, timestep, added);
  const hint = conditioningEmbedding(g, cond, set.controlnet, cfg.blockOutChannels[0]!);
  const h = g.op('Add', [convIn(g, cfg, sample), hint], {}, 'AddHint');
  const down = downPath(g, cfg, h, temb, context);

  const zeroConv = (x: string, name: string, channels: number, outName: string, dims: ReturnType<typeof latentDims>) => {
    let y = conv2d(g, x, name, { inChannels: channels, outChannels: channels, kernel: 1, gain: ZERO_CONV_GAIN });
    if (scale !== undefined) y = g.op('Mul', [y, scale], {}, `${outName}/Scale`);
    if (opts.pooled) y = g.op('ReduceMean', [y], { axes: [2, 3], keepdims: 1 }, `${outName}/GlobalPool`);
    floatOutput(g, format, y, outName, opts.pooled ? [dims[0]!, dims[1]!, 1, 1] : dims);
  };
  downResidualSlots(cfg).forEach((slot, i) => {
    zeroConv(down.residuals[i]!, `controlnet_down_blocks.${i}`, slot.channels, residualInputName(i), latentDims(slot.channels, slot.level));
  });
  const mid = midBlockChannels(cfg);
  zeroConv(down.mid, 'controlnet_mid_block', mid, MID_RESIDUAL_NAME, latentDims(mid, cfg.blockOutChannels.length - 1));
  return g;
}
