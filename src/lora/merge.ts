/**
 * Merges LoRA updates into a graph's weights, in memory: W += strength × alpha / rank × up·down, in the order the
 * LoRAs are given (as diffusers' `fuse_lora` does, one LoRA after another), for MatMul ([in, out]), Gemm and Conv
 * weights. The model file is read, never written; the result is a serialized ModelProto for a session.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { onnx, type ModelProto, type TensorProto } from '../onnx/onnx.js';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';
import type { LoraComponent, LoraModule, ParsedLora } from './lora-file.js';
import { weightTargets, type WeightTarget } from './graph-targets.js';

const DT = onnx.TensorProto.DataType;
/** Protobuf messages cannot exceed 2 GiB: larger graphs cannot be built in memory this way. */
const MAX_INLINE_BYTES = 2 ** 31 - 64 * 1024 ** 2;

export interface LoraToMerge {
  name: string;
  lora: ParsedLora;
  strength: number;
}

export interface MergeReport {
  name: string;
  /** Modules of this component that found their weight. */
  matched: number;
  /** Modules of this component that matched no weight (or not its shape). */
  unmatched: string[];
  /** The file's modules of every component, and its keys no reader takes: what `matched` is counted against. */
  modules: number;
  unsupported: number;
}

export interface MergedModel {
  bytes: Uint8Array;
  reports: MergeReport[];
}

/** The error a LoRA that cannot be merged into a graph raises. */
export class LoraMergeError extends Error {}

function readExternal(t: TensorProto, modelDir: string): Uint8Array {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key!, e.value!]));
  const location = entries.get('location') ?? '';
  const file = resolve(modelDir, location);
  if (!file.startsWith(resolve(modelDir) + sep)) throw new LoraMergeError(`tensor ${t.name}: external data outside the model folder`);
  const offset = Number(entries.get('offset') ?? 0);
  const data = readFileSync(file);
  const length = entries.has('length') ? Number(entries.get('length')) : data.byteLength - offset;
  return new Uint8Array(data.buffer, data.byteOffset + offset, length);
}

/** Makes every tensor inline (a model built from bytes has no folder to read external data from). */
function inlineExternal(model: ModelProto, modelDir: string): void {
  let total = 0;
  for (const t of model.graph!.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    t.rawData = readExternal(t, modelDir);
    total += t.rawData.byteLength;
    if (total > MAX_INLINE_BYTES) throw new LoraMergeError("the graph's weights pass 2 GB: a LoRA cannot be merged into it in memory");
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
}

function floatValues(t: TensorProto): Float32Array {
  if (t.dataType === DT.FLOAT) {
    if (t.rawData && t.rawData.byteLength > 0) return new Float32Array(new Uint8Array(t.rawData).buffer);
    return Float32Array.from(t.floatData ?? []);
  }
  if (t.dataType === DT.FLOAT16) {
    if (t.rawData && t.rawData.byteLength > 0) return float16ToFloat32(new Uint16Array(new Uint8Array(t.rawData).buffer));
    return float16ToFloat32(Uint16Array.from((t.int32Data ?? []) as number[]));
  }
  throw new LoraMergeError(`tensor ${t.name}: element type ${t.dataType} cannot take a LoRA`);
}

function storeValues(t: TensorProto, values: Float32Array): void {
  t.rawData = t.dataType === DT.FLOAT16 ? new Uint8Array(float32ToFloat16(values).buffer) : new Uint8Array(values.buffer);
  t.floatData = [];
  t.int32Data = [];
}

/**
 * Adds `scale` × up·down to `w` as diffusers fuses it: up × alpha / rank first (float32), the product, × the LoRA
 * scale, added to the weight; `false` when the module's shape does not fit the weight.
 */
export function addLowRank(w: Float32Array, target: WeightTarget, m: LoraModule, strength: number): boolean {
  const out = m.up.shape[0]!;
  const r = m.rank;
  const k = m.down.values.length / r;
  const d = target.dims;
  const fits =
    target.layout === 'conv'
      ? d[0] === out && d[1]! * d[2]! * d[3]! === k
      : target.layout === 'linear-out-in'
        ? d[0] === out && d[1] === k
        : d[1] === out && d[0] === k;
  if (!fits) return false;
  const up = m.up.values;
  const down = m.down.values;
  const upScaled = new Float32Array(up.length);
  for (let i = 0; i < up.length; i++) upScaled[i] = m.alpha === null ? up[i]! : Math.fround(up[i]! * m.alpha) / r;
  const transposed = target.layout === 'linear-in-out';
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let q = 0; q < r; q++) acc += upScaled[o * r + q]! * down[q * k + j]!;
      const idx = transposed ? j * out + o : o * k + j;
      w[idx] = Math.fround(w[idx]! + Math.fround(strength * Math.fround(acc)));
    }
  }
  return true;
}

/** Reads the graph at `modelPath`, merges the LoRAs' modules of `component` into it, and serializes it. */
export function mergeLoras(modelPath: string, component: LoraComponent, loras: readonly LoraToMerge[]): MergedModel {
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const modelDir = dirname(modelPath);
  inlineExternal(model, modelDir);
  let nameMap: Record<string, string> | undefined;
  try {
    nameMap = JSON.parse(readFileSync(join(modelDir, 'weight_names.json'), 'utf8')) as Record<string, string>;
  } catch {
    nameMap = undefined;
  }
  const targets = weightTargets(model, component, nameMap);
  const tensors = new Map((model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const values = new Map<string, Float32Array>();
  const reports: MergeReport[] = [];
  for (const { name, lora, strength } of loras) {
    const report: MergeReport = { name, matched: 0, unmatched: [], modules: lora.modules.length, unsupported: lora.unsupported.length };
    for (const m of lora.modules) {
      if (m.component !== component) continue;
      const target = targets.get(m.key);
      if (!target) {
        report.unmatched.push(m.source);
        continue;
      }
      let w = values.get(target.initializer);
      if (!w) {
        w = floatValues(tensors.get(target.initializer)!);
        values.set(target.initializer, w);
      }
      if (strength === 0 || addLowRank(w, target, m, strength)) report.matched++;
      else report.unmatched.push(`${m.source} (shape)`);
    }
    reports.push(report);
  }
  for (const [name, w] of values) storeValues(tensors.get(name)!, w);
  return { bytes: onnx.ModelProto.encode(model).finish(), reports };
}
