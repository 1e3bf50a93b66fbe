import type * as ort from 'onnxruntime-node';
import type { FloatType } from './tensors.js';

/**
 * Exporters name graph inputs differently (onnx-web, OnnxStack, axodox, diffusers' script, ours), so
 * we find each role by rank and position, preferring a telling name where one exists, and never
 * hard-code names. These are the roles the pipeline needs.
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
  /** 12 down-block residuals then the mid-block residual, in graph order. */
  residuals: TensorSpec[];
  output: TensorSpec;
  floatType: FloatType;
}

export interface ControlNetSignature {
  sample: TensorSpec;
  timestep: TensorSpec;
  hiddenStates: TensorSpec;
  cond: TensorSpec;
  /** Present when the graph multiplies its outputs by a conditioning scale itself. */
  scale?: TensorSpec;
  /** 12 down-block residuals then the mid-block residual. */
  outputs: TensorSpec[];
  floatType: FloatType;
}

export interface TextEncoderSignature {
  inputIds: TensorSpec;
  lastHiddenState: TensorSpec;
  floatType: FloatType;
}

export interface VaeSignature {
  input: TensorSpec;
  output: TensorSpec;
  floatType: FloatType;
}

export const RESIDUAL_COUNT = 13;

export class SignatureError extends Error {}

function specs(list: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return list.map((m) => {
    if (!m.isTensor) throw new SignatureError(`"${m.name}" is not a tensor`);
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

const rank = (s: TensorSpec) => s.shape.length;
const isFloat = (s: TensorSpec) => s.type === 'float32' || s.type === 'float16';

function floatTypeOf(s: TensorSpec, what: string): FloatType {
  if (s.type === 'float32' || s.type === 'float16') return s.type;
  throw new SignatureError(`${what} "${s.name}" has type ${s.type}; expected float32 or float16`);
}

function pick(candidates: TensorSpec[], pattern: RegExp): TensorSpec | undefined {
  return candidates.find((c) => pattern.test(c.name)) ?? candidates[0];
}

function takeRank4(inputs: TensorSpec[], model: string) {
  const fourD = inputs.filter((s) => rank(s) === 4);
  if (fourD.length === 0) throw new SignatureError(`${model}: no 4-D input`);
  return fourD;
}

export function unetSignature(session: ort.InferenceSession, model = 'unet'): UNetSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const hidden = inputs.filter((s) => rank(s) === 3);
  if (hidden.length !== 1) {
    throw new SignatureError(`${model}: expected one 3-D encoder_hidden_states input, found ${hidden.length}`);
  }
  const small = inputs.filter((s) => rank(s) <= 1);
  const timestep = pick(small, /time/i);
  if (!timestep) throw new SignatureError(`${model}: no timestep input (rank 0 or 1)`);
  if (small.length > 1) {
    const extra = small.filter((s) => s !== timestep).map((s) => s.name);
    throw new SignatureError(`${model}: unsupported extra inputs ${extra.join(', ')} (SD 1.x/2.x UNets only)`);
  }
  const fourD = takeRank4(inputs, model);
  const sample = fourD.find((s) => s.name === 'sample') ?? fourD[0];
  const residuals = fourD.filter((s) => s !== sample);
  if (residuals.length !== RESIDUAL_COUNT) {
    throw new SignatureError(
      `${model}: has ${residuals.length} ControlNet residual inputs; a ControlNet UNet needs ${RESIDUAL_COUNT} ` +
        `(12 down-block + 1 mid-block). Export it with scripts/export_onnx.py.`,
    );
  }
  const output = outputs.find((s) => rank(s) === 4);
  if (!output) throw new SignatureError(`${model}: no 4-D output`);
  return { sample, timestep, hiddenStates: hidden[0], residuals, output, floatType: floatTypeOf(sample, `${model} input`) };
}

export function controlNetSignature(session: ort.InferenceSession, model = 'controlnet'): ControlNetSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const hidden = inputs.filter((s) => rank(s) === 3);
  if (hidden.length !== 1) {
    throw new SignatureError(`${model}: expected one 3-D encoder_hidden_states input, found ${hidden.length}`);
  }
  const small = inputs.filter((s) => rank(s) <= 1);
  const scale = small.find((s) => /scale/i.test(s.name)) ?? (small.length === 2 && isFloat(small[1]) ? small[1] : undefined);
  const timestep = pick(small.filter((s) => s !== scale), /time/i);
  if (!timestep) throw new SignatureError(`${model}: no timestep input (rank 0 or 1)`);
  const fourD = takeRank4(inputs, model);
  if (fourD.length !== 2) throw new SignatureError(`${model}: expected 2 4-D inputs (sample, controlnet_cond), found ${fourD.length}`);
  const sample = fourD.find((s) => s.name === 'sample') ?? fourD[0];
  const cond = fourD.find((s) => s !== sample)!;
  const outs = outputs.filter((s) => rank(s) === 4);
  if (outs.length !== RESIDUAL_COUNT) {
    throw new SignatureError(`${model}: has ${outs.length} residual outputs; expected ${RESIDUAL_COUNT} (12 down-block + 1 mid-block)`);
  }
  return { sample, timestep, hiddenStates: hidden[0], cond, scale, outputs: outs, floatType: floatTypeOf(sample, `${model} input`) };
}

export function textEncoderSignature(session: ort.InferenceSession, model = 'text_encoder'): TextEncoderSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const ids = inputs.find((s) => s.type === 'int32' || s.type === 'int64');
  if (!ids || inputs.length !== 1) {
    throw new SignatureError(`${model}: expected a single integer input_ids input, found ${inputs.map((s) => `${s.name}:${s.type}`).join(', ')}`);
  }
  const last = outputs.find((s) => s.name === 'last_hidden_state') ?? outputs.find((s) => rank(s) === 3);
  if (!last) throw new SignatureError(`${model}: no 3-D last_hidden_state output`);
  return { inputIds: ids, lastHiddenState: last, floatType: floatTypeOf(last, `${model} output`) };
}

export function vaeSignature(session: ort.InferenceSession, model: string): VaeSignature {
  const inputs = specs(session.inputMetadata);
  const outputs = specs(session.outputMetadata);
  const input = inputs.find((s) => rank(s) === 4);
  const output = outputs.find((s) => rank(s) === 4);
  if (!input || !output || inputs.length !== 1) {
    throw new SignatureError(`${model}: expected one 4-D input and a 4-D output`);
  }
  return { input, output, floatType: floatTypeOf(input, `${model} input`) };
}
