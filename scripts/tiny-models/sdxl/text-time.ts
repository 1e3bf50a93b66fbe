/**
 * SDXL's `text_time` added conditioning (diffusers' UNet2DConditionModel / ControlNetModel with
 * addition_embed_type "text_time"): inputs text_embeds [batch, pooled] and time_ids [batch, 6] (original size,
 * crop top-left, target size); each time_ids number goes through add_time_proj (sinusoids, cos first), the six
 * are flattened and put after text_embeds, and add_embedding (linear, SiLU, linear) maps them to the time
 * embedding's width.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { silu } from '../layers/activation.js';
import { linear } from '../layers/linear.js';
import { BATCH } from '../sd/dims.js';
import { floatInput, type ExportFormat } from '../sd/formats.js';
import { sinusoidFrequencies } from '../sd/timestep-embedding.js';
import type { AddedConditioning } from '../sd/unet.js';
import type { TextTimeConfig } from './config.js';

export const TIME_IDS = 6;

export function textTimeConditioning(cfg: TextTimeConfig): AddedConditioning {
  return (g: GraphBuilder, format: ExportFormat, timeEmbedDim: number) => {
    const textEmbeds = floatInput(g, format, 'text_embeds', [BATCH, cfg.pooledDim]);
    const timeIds = floatInput(g, format, 'time_ids', [BATCH, TIME_IDS]);
    const half = cfg.timeEmbedDim / 2;
    const column = g.op('Reshape', [timeIds, g.int64([-1, 1])], {}, 'add_time_proj/Reshape');
    const args = g.op('Mul', [column, g.float32(sinusoidFrequencies(half), [1, half])], {}, 'add_time_proj/Mul');
    const projected = g.op('Concat', [g.op('Cos', [args]), g.op('Sin', [args])], { axis: 1 }, 'add_time_proj');
    const timeEmbeds = g.op('Reshape', [projected, g.int64([-1, TIME_IDS * cfg.timeEmbedDim])], {}, 'time_embeds');
    const addEmbeds = g.op('Concat', [textEmbeds, timeEmbeds], { axis: 1 }, 'add_embeds');
    const inFeatures = cfg.pooledDim + TIME_IDS * cfg.timeEmbedDim;
    const hidden = silu(g, linear(g, addEmbeds, 'add_embedding.linear_1', { inFeatures, outFeatures: timeEmbedDim }));
    return linear(g, hidden, 'add_embedding.linear_2', { inFeatures: timeEmbedDim, outFeatures: timeEmbedDim });
  };
}
