/**
 * transformers' CLIPTextModel: token + position embeddings, pre-LN transformer layers with causal self-attention
 * and a quick-GELU MLP, final LayerNorm. input_ids [batch, 77] -> last_hidden_state [batch, 77, D] and
 * pooler_output [batch, D] (the state at the first occurrence of the largest id, i.e. the end-of-text token).
 * Options give SDXL's encoders: GELU, CLIPTextModelWithProjection's text_projection (output `text_embeds`
 * first, as optimum names it) and the raw `hidden_states.k` outputs SDXL reads (hidden_states[-2]).
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { newGraph, type BuildOptions } from './build-options.js';
import { gelu, quickGelu } from '../layers/activation.js';
import { attention } from '../layers/attention.js';
import { fanInUniform } from '../layers/init.js';
import { linear } from '../layers/linear.js';
import { layerNorm, layerNormModule } from '../layers/norm.js';
import { onnxDType } from '../../../src/onnx/onnx.js';
import type { ModelSetConfig, TextEncoderConfig } from './config.js';
import { BATCH, textDims } from './dims.js';
import { floatOutput, type ExportFormat } from './formats.js';

/** The most negative float32, what transformers puts above the diagonal of the causal mask. */
const MASKED = -3.4028234663852886e38;

function causalMask(positions: number): Float32Array {
  const mask = new Float32Array(positions * positions);
  for (let q = 0; q < positions; q++) mask.fill(MASKED, q * positions + q + 1, (q + 1) * positions);
  return mask;
}

export interface TextEncoderOptions extends BuildOptions {
  /** Default: the set's `text`. */
  text?: TextEncoderConfig;
  /** transformers' hidden_act; default quick_gelu (SD 1.x); OpenCLIP bigG (SDXL's second encoder) uses gelu. */
  hiddenAct?: 'quick_gelu' | 'gelu';
  /** CLIPTextModelWithProjection: `text_embeds` = pooled x text_projection (no bias) instead of pooler_output. */
  projectionDim?: number;
  /** Also output hidden_states.0 .. N before the final norm (export_onnx.py's and optimum's outputs). */
  hiddenStates?: boolean;
  graphName?: string;
}

export function buildTextEncoder(set: ModelSetConfig, format: ExportFormat, vocabSize: number, opts: TextEncoderOptions = {}): GraphBuilder {
  const { hiddenSize: dim, intermediateSize, layers, heads, maxPositions, layerNormEps: eps } = opts.text ?? set.text;
  const g = newGraph(opts.graphName ?? 'text_encoder', format, set.seeds.text, opts);
  const act = opts.hiddenAct === 'gelu' ? gelu : quickGelu;
  const ids = g.input('input_ids', format.inputIds, textDims(maxPositions));

  const embeddings = 'text_model.embeddings';
  const tokenTable = g.param(`${embeddings}.token_embedding.weight`, [vocabSize, dim], fanInUniform(1));
  const positions = g.param(`${embeddings}.position_embedding.weight`, [maxPositions, dim], fanInUniform(1, 0.5));
  let x = g.op('Add', [g.op('Gather', [tokenTable, ids], { axis: 0 }, 'token_embedding'), positions], {}, 'embeddings');

  const mask = g.float32(causalMask(maxPositions), [maxPositions, maxPositions]);
  const states = [x];
  for (let layer = 0; layer < layers; layer++) {
    const name = `text_model.encoder.layers.${layer}`;
    const n1 = layerNorm(g, x, `${name}.layer_norm1`, { dim, eps });
    const proj = (p: string) => linear(g, n1, `${name}.self_attn.${p}`, { inFeatures: dim, outFeatures: dim });
    const attended = attention(g, proj('q_proj'), proj('k_proj'), proj('v_proj'), { heads, headDim: dim / heads, mask, name: `${name}.self_attn` });
    const attnOut = linear(g, attended, `${name}.self_attn.out_proj`, { inFeatures: dim, outFeatures: dim });
    x = g.op('Add', [x, attnOut], {}, `${name}/Residual`);
    const n2 = layerNorm(g, x, `${name}.layer_norm2`, { dim, eps });
    const hidden = act(g, linear(g, n2, `${name}.mlp.fc1`, { inFeatures: dim, outFeatures: intermediateSize }));
    const mlpOut = linear(g, hidden, `${name}.mlp.fc2`, { inFeatures: intermediateSize, outFeatures: dim });
    x = g.op('Add', [x, mlpOut], {}, `${name}/Residual`);
    states.push(x);
  }
  const finalNorm = layerNormModule(g, 'text_model.final_layer_norm', { dim, eps });
  const last = finalNorm(x);

  // The end-of-text position: argmax over the ids (CLIP's eos has the largest id); ArgMax keeps the first.
  const ids64 = format.inputIds === 'int64' ? ids : g.op('Cast', [ids], { to: onnxDType('int64') });
  const eos = g.op('ArgMax', [ids64], { axis: -1, keepdims: 1 }, 'eos_position');
  const pooled = g.op('GatherND', [last, eos], { batch_dims: 1 }, 'pooler');

  if (opts.projectionDim === undefined) {
    floatOutput(g, format, last, 'last_hidden_state', textDims(maxPositions, dim));
    floatOutput(g, format, pooled, 'pooler_output', [BATCH, dim]);
  } else {
    const projection = linear(g, pooled, 'text_projection', { inFeatures: dim, outFeatures: opts.projectionDim, bias: false });
    floatOutput(g, format, projection, 'text_embeds', [BATCH, opts.projectionDim]);
    floatOutput(g, format, last, 'last_hidden_state', textDims(maxPositions, dim));
  }
  if (opts.hiddenStates) {
    states.forEach((state, k) => floatOutput(g, format, state, `hidden_states.${k}`, textDims(maxPositions, dim)));
  }
  // For clip_skip: every hidden state through the final norm, as diffusers uses
  // final_layer_norm(hidden_states[-(k + 1)]); the last one equals last_hidden_state.
  states.forEach((state, k) => {
    floatOutput(g, format, k === layers ? last : finalNorm(state), `normed_hidden_states.${k}`, textDims(maxPositions, dim));
  });
  return g;
}
