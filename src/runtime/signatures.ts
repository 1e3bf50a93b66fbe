import type * as ort from 'onnxruntime-node';
import { orderResiduals } from './residual-order.js';
import type { FloatType } from './tensors.js';
import { ClientError } from '../domain/client-error.js';

/**
 * Exporters name and order graph inputs differently (onnx-web, OnnxStack, axodox, diffusers' script, ours), so we
 * find each role by rank, static shape and dtype, use a name only where it is telling, fall back to position, and
 * never hard-code one tool's names. These are the roles the pipeline needs.
 */
export interface TensorSpec {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

export interface UNetSignature {
  sample: TensorSpec;
  timestep: TensorSpec;
  hiddenStates: TensorSpec;
  /** The down-block residuals (12 for SD 1.x/2.x), then the mid-block residual. */
  residuals: TensorSpec[];
  /** 2-D inputs beside the text states: SDXL's added conditions (text_embeds, time_ids); none for SD 1.x/2.x. */
  addedConditions: TensorSpec[];
  output: TensorSpec;
  floatType: FloatType;
  /** The batch size the graph was exported with, when it is fixed (null: any batch). */
  batch: number | null;
}

export interface ControlNetSignature {
  sample: TensorSpec;
  timestep: TensorSpec;
  hiddenStates: TensorSpec;
  cond: TensorSpec;
  /** Present when the graph multiplies its outputs by a conditioning scale itself. */
  scale?: TensorSpec;
  /** The down-block residuals (12 for SD 1.x/2.x), then the mid-block residual. */
  outputs: TensorSpec[];
  /** 2-D inputs: SDXL's added conditions (text_embeds, time_ids); none for SD 1.x/2.x. */
  addedConditions: TensorSpec[];
  floatType: FloatType;
  batch: number | null;
  /** global_pool_conditions (shuffle): every output is [b, C, 1, 1] and broadcasts over the UNet's residual. */
  pooled: boolean;
}

export interface TextEncoderSignature {
  inputIds: TensorSpec;
  lastHiddenState: TensorSpec;
  /**
   * The hidden states after CLIP's final layer norm, index 0 (embeddings) to N (last layer), for clip_skip;
   * empty when the export has none (ours writes `normed_hidden_states.<k>`).
   */
  normedHiddenStates: TensorSpec[];
  /**
   * The hidden states before the final layer norm, index 0 (embeddings) to N (last layer): SDXL takes
   * `hidden_states.<N-1>` (optimum's and export_onnx.py's names); empty when the export has none.
   */
  hiddenStates: TensorSpec[];
  /** The pooled output: `text_embeds` (CLIPTextModelWithProjection, SDXL's second encoder) or `pooler_output`. */
  pooled: TensorSpec | null;
  floatType: FloatType;
}

export interface VaeSignature {
  input: TensorSpec;
  output: TensorSpec;
  floatType: FloatType;
  batch: number | null;
}

/** A ControlNet's hint is an RGB image. */
const HINT_CHANNELS = 3;
/** At least one down-block residual and the mid-block one. */
const MIN_RESIDUALS = 2;

/** Model files whose inputs and outputs this server cannot drive (or that do not fit each other): a 400. */
export class SignatureError extends ClientError {
  constructor(message: string) {
    super(400, message);
    this.name = 'SignatureError';
  }
}

function specs(list: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return list.map((m) => {
    if (!m.isTensor) throw new SignatureError(`"${m.name}" is not a tensor`);
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

const rank = (s: TensorSpec) => s.shape.length;
const isFloat = (s: TensorSpec) => s.type === 'float32' || s.type === 'float16' || s.type === 'float64';
const isInt = (s: TensorSpec) => s.type === 'int64' || s.type === 'int32';
const channels = (s: TensorSpec) => (typeof s.shape[1] === 'number' ? s.shape[1] : null);
const staticBatch = (s: TensorSpec) => (typeof s.shape[0] === 'number' ? s.shape[0] : null);

/** Names that say "the noisy latents" in the exporters we know. */
const SAMPLE_NAME = /^(sample|latents?|latent_model_input|noisy_latents?|x|x_noisy)$/i;
/** Names that say "the ControlNet hint image". */
const COND_NAME = /cond|control|hint/i;
const TIME_NAME = /time|^t$/i;
const SCALE_NAME = /scale|strength|weight/i;

function floatTypeOf(s: TensorSpec, what: string): FloatType {
  if (s.type === 'float32' || s.type === 'float16') return s.type;
  throw new SignatureError(`${what} "${s.name}" has type ${s.type}; expected float32 or float16`);
}

function oneHiddenStates(inputs: TensorSpec[], model: string): TensorSpec {
  const hidden = inputs.filter((s) => rank(s) === 3);
  if (hidden.length !== 1) {
    throw new SignatureError(`${model}: expected one 3-D encoder_hidden_states input, found ${hidden.length}`);
  }
  return hidden[0]!;
}

/** Timestep and (ControlNets only) conditioning scale among the rank-0/1 inputs: names first, then dtype, then order. */
function timestepAndScale(small: TensorSpec[], model: string, allowScale: boolean): { timestep: TensorSpec; scale?: TensorSpec } {
  let scale = small.find((s) => SCALE_NAME.test(s.name) && isFloat(s));
  const timestep = small.find((s) => s !== scale && TIME_NAME.test(s.name)) ?? small.find((s) => s !== scale && isInt(s)) ?? small.find((s) => s !== scale);
  if (!timestep) throw new SignatureError(`${model}: no timestep input (rank 0 or 1)`);
  if (!scale && allowScale) scale = small.find((s) => s !== timestep && isFloat(s));
  const extra = small.filter((s) => s !== timestep && s !== scale);
  if (extra.length > 0 || (scale && !allowScale)) {
    const names = [...extra, ...(scale && !allowScale ? [scale] : [])].map((s) => `${s.name}:${s.type}`);
    throw new SignatureError(`${model}: unsupported extra inputs ${names.join(', ')} (SD 1.x/2.x graphs only)`);
  }
  return { timestep, scale: allowScale ? scale : undefined };
}

/**
 * The latent sample among 4-D inputs: a telling name, else the only one with the latent channels (those of the
 * UNet's output, when the graph states them), else the first that is not something else.
 */
function pickSample(fourD: TensorSpec[], others: (s: TensorSpec) => boolean, latentChannels: number | null): TensorSpec {
  const latent = latentChannels === null ? [] : fourD.filter((s) => channels(s) === latentChannels);
  return fourD.find((s) => SAMPLE_NAME.test(s.name)) ?? (latent.length === 1 ? latent[0] : undefined) ?? fourD.find((s) => !others(s)) ?? fourD[0]!;
}

export function unetSignature(session: ort.InferenceSession, model = 'unet'): UNetSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const hiddenStates = oneHiddenStates(inputs, model);
  const { timestep } = timestepAndScale(
    inputs.filter((s) => rank(s) <= 1),
    model,
    false,
  );
  const fourD = inputs.filter((s) => rank(s) === 4);
  if (fourD.length === 0) throw new SignatureError(`${model}: no 4-D input`);
  const output = outputs.find((s) => rank(s) === 4);
  if (!output) throw new SignatureError(`${model}: no 4-D output`);
  const sample = pickSample(fourD, () => false, channels(output));
  const residuals = fourD.filter((s) => s !== sample);
  if (residuals.length < MIN_RESIDUALS) {
    throw new SignatureError(
      `${model}: has ${residuals.length} ControlNet residual inputs; a ControlNet UNet takes its down-block residuals and ` +
        'the mid-block residual as inputs (12 + 1 for SD 1.x/2.x). Export it with scripts/export_onnx.py.',
    );
  }
  return {
    sample,
    timestep,
    hiddenStates,
    residuals: orderResiduals(residuals),
    addedConditions: inputs.filter((s) => rank(s) === 2),
    output,
    floatType: floatTypeOf(sample, `${model} input`),
    batch: staticBatch(sample),
  };
}

export function controlNetSignature(session: ort.InferenceSession, model = 'controlnet'): ControlNetSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const hiddenStates = oneHiddenStates(inputs, model);
  const { timestep, scale } = timestepAndScale(
    inputs.filter((s) => rank(s) <= 1),
    model,
    true,
  );
  const fourD = inputs.filter((s) => rank(s) === 4);
  if (fourD.length !== 2) throw new SignatureError(`${model}: expected 2 4-D inputs (sample, controlnet_cond), found ${fourD.length}`);
  const looksLikeCond = (s: TensorSpec) => COND_NAME.test(s.name) || channels(s) === HINT_CHANNELS;
  const sample = pickSample(fourD, looksLikeCond, null);
  const cond = fourD.find((s) => s !== sample)!;
  const outs = outputs.filter((s) => rank(s) === 4);
  if (outs.length < MIN_RESIDUALS) {
    throw new SignatureError(`${model}: has ${outs.length} residual outputs; a ControlNet returns its down-block residuals and the mid-block residual`);
  }
  return {
    sample,
    timestep,
    hiddenStates,
    cond,
    scale,
    outputs: orderResiduals(outs),
    addedConditions: inputs.filter((s) => rank(s) === 2),
    floatType: floatTypeOf(sample, `${model} input`),
    batch: staticBatch(sample),
    pooled: outs.every((s) => s.shape[2] === 1 && s.shape[3] === 1),
  };
}

export function textEncoderSignature(session: ort.InferenceSession, model = 'text_encoder'): TextEncoderSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const ids = inputs.find((s) => isInt(s));
  if (!ids || inputs.length !== 1) {
    throw new SignatureError(`${model}: expected a single integer input_ids input, found ${inputs.map((s) => `${s.name}:${s.type}`).join(', ')}`);
  }
  const last = outputs.find((s) => s.name === 'last_hidden_state') ?? outputs.find((s) => rank(s) === 3);
  if (!last) throw new SignatureError(`${model}: no 3-D last_hidden_state output`);
  const normed: TensorSpec[] = [];
  for (const s of outputs) {
    const m = /^normed_hidden_states\.(\d+)$/.exec(s.name);
    if (m && rank(s) === 3) normed[Number(m[1])] = s;
  }
  const hidden: TensorSpec[] = [];
  for (const s of outputs) {
    const m = /^hidden_states\.(\d+)$/.exec(s.name);
    if (m && rank(s) === 3) hidden[Number(m[1])] = s;
  }
  const complete = (list: TensorSpec[]) => (list.length > 0 && list.every(Boolean) ? list : []);
  const pooled = outputs.find((s) => s.name === 'text_embeds' && rank(s) === 2) ?? outputs.find((s) => s.name === 'pooler_output' && rank(s) === 2) ?? null;
  return {
    inputIds: ids,
    lastHiddenState: last,
    normedHiddenStates: complete(normed),
    hiddenStates: complete(hidden),
    pooled,
    floatType: floatTypeOf(last, `${model} output`),
  };
}

export function vaeSignature(session: ort.InferenceSession, model: string): VaeSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const input = inputs.find((s) => rank(s) === 4);
  const output = outputs.find((s) => rank(s) === 4);
  if (!input || !output || inputs.length !== 1) {
    throw new SignatureError(`${model}: expected one 4-D input and a 4-D output`);
  }
  return { input, output, floatType: floatTypeOf(input, `${model} input`), batch: staticBatch(input) };
}
