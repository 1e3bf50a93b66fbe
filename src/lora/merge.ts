/**
 * Merges LoRA updates into a graph's weights, in memory: W += strength × alpha / rank × up·down, in the order the
 * LoRAs are given (as diffusers' `fuse_lora` does, one LoRA after another), for MatMul ([in, out]), Gemm and Conv
 * weights. The model file and its external data are read once (graph-in-memory.ts) and each target weight is
 * patched in place where its bytes lie: the graph proto is handed to onnxruntime as it was read, its external data
 * as in-memory files (SessionOptions.externalData). Peak memory is the weights once, plus one float32 copy of the
 * largest target (float16 weights, unaligned bytes), plus what onnxruntime keeps; the files are never written.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onnx, type TensorProto } from '../onnx/onnx.js';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';
import { type ExternalDataFile, LoraMergeError, readGraphInMemory, tensorBytes } from './graph-in-memory.js';
import type { LoraComponent, LoraModule, ParsedLora } from './lora-file.js';
import { weightTargets, type WeightTarget } from './graph-targets.js';

export { LoraMergeError };

const DT = onnx.TensorProto.DataType;

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

/** A graph with LoRAs merged in, as onnxruntime opens it from memory. */
export interface MergedModel {
  /** The serialized graph: the model file's bytes, with its inline target weights patched. */
  model: Uint8Array;
  /** For SessionOptions.externalData: the graph's external weight files, target weights patched (empty when it has none). */
  externalData: ExternalDataFile[];
  reports: MergeReport[];
}

/** Whether the module's up·down has the weight's shape. */
function fits(target: WeightTarget, m: LoraModule): boolean {
  const out = m.up.shape[0]!;
  const k = m.down.values.length / m.rank;
  const d = target.dims;
  if (target.layout === 'conv') return d[0] === out && d[1]! * d[2]! * d[3]! === k;
  if (target.layout === 'linear-out-in') return d[0] === out && d[1] === k;
  return d[1] === out && d[0] === k;
}

/**
 * Adds `scale` × up·down to `w` as diffusers fuses it: up × alpha / rank first (float32), the product, × the LoRA
 * scale, added to the weight; `false` when the module's shape does not fit the weight.
 */
export function addLowRank(w: Float32Array, target: WeightTarget, m: LoraModule, strength: number): boolean {
  if (!fits(target, m)) return false;
  const out = m.up.shape[0]!;
  const r = m.rank;
  const k = m.down.values.length / r;
  const up = m.up.values;
  const down = m.down.values;
  const upScaled = new Float32Array(up.length);
  for (let i = 0; i < up.length; i++) upScaled[i] = m.alpha === null ? up[i]! : Math.fround(up[i]! * m.alpha) / r;
  // Each element is its own float64 sum over the rank (q ascending) and three float32 roundings; the loops only
  // follow the weight's memory order.
  if (target.layout === 'linear-in-out') {
    // w is [k, out]: one column of down per row of w.
    const col = new Float32Array(r);
    for (let j = 0; j < k; j++) {
      for (let q = 0; q < r; q++) col[q] = down[q * k + j]!;
      const row = j * out;
      for (let o = 0; o < out; o++) {
        let acc = 0;
        for (let q = 0; q < r; q++) acc += upScaled[o * r + q]! * col[q]!;
        w[row + o] = Math.fround(w[row + o]! + Math.fround(strength * Math.fround(acc)));
      }
    }
    return true;
  }
  for (let o = 0; o < out; o++) {
    const row = o * k;
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let q = 0; q < r; q++) acc += upScaled[o * r + q]! * down[q * k + j]!;
      w[row + j] = Math.fround(w[row + j]! + Math.fround(strength * Math.fround(acc)));
    }
  }
  return true;
}

interface Update {
  target: WeightTarget;
  /** The modules to add, in the order the LoRAs (and each file's modules) come. */
  adds: { m: LoraModule; strength: number }[];
}

const elementCount = (t: TensorProto) => (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);

function checkFloat(t: TensorProto): void {
  if (t.dataType !== DT.FLOAT && t.dataType !== DT.FLOAT16) throw new LoraMergeError(`tensor ${t.name}: element type ${t.dataType} cannot take a LoRA`);
}

/**
 * The bytes of a tensor stored in its typed fields (`float_data`, float16 bits in `int32_data`), moved to raw data:
 * the proto then has to be encoded again (small graphs only store weights this way).
 */
function toRawData(t: TensorProto): Uint8Array {
  const values = t.dataType === DT.FLOAT16 ? Uint16Array.from((t.int32Data ?? []) as number[]) : Float32Array.from(t.floatData ?? []);
  t.rawData = new Uint8Array(values.buffer);
  t.floatData = [];
  t.int32Data = [];
  return t.rawData;
}

/**
 * Applies the updates to one weight's bytes in place: float32 weights directly (through a copy when the bytes are
 * not 4-aligned), float16 weights through one float32 copy of this tensor (all LoRAs in float32, one rounding back).
 */
function patch(bytes: Uint8Array, t: TensorProto, update: Update): void {
  const n = elementCount(t);
  const half = t.dataType === DT.FLOAT16;
  const size = half ? 2 : 4;
  if (bytes.byteLength !== n * size) throw new LoraMergeError(`tensor ${t.name}: ${bytes.byteLength} bytes for ${n} elements`);
  const aligned = bytes.byteOffset % size === 0;
  const own = aligned ? bytes : new Uint8Array(bytes);
  const apply = (w: Float32Array) => {
    for (const { m, strength } of update.adds) addLowRank(w, update.target, m, strength);
  };
  if (half) {
    const bits = new Uint16Array(own.buffer, own.byteOffset, n);
    const w = float16ToFloat32(bits);
    apply(w);
    float32ToFloat16(w, bits);
  } else {
    apply(new Float32Array(own.buffer, own.byteOffset, n));
  }
  if (!aligned) bytes.set(own);
}

/** Reads the graph at `modelPath` with its weights, and merges the LoRAs' modules of `component` into them. */
export function mergeLoras(modelPath: string, component: LoraComponent, loras: readonly LoraToMerge[]): MergedModel {
  const graph = readGraphInMemory(modelPath);
  const modelDir = dirname(modelPath);
  let nameMap: Record<string, string> | undefined;
  try {
    nameMap = JSON.parse(readFileSync(join(modelDir, 'weight_names.json'), 'utf8')) as Record<string, string>;
  } catch {
    nameMap = undefined;
  }
  const targets = weightTargets(graph.proto, component, nameMap);
  const tensors = new Map((graph.proto.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const updates = new Map<string, Update>();
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
      checkFloat(tensors.get(target.initializer)!);
      if (strength === 0) {
        report.matched++;
        continue;
      }
      if (!fits(target, m)) {
        report.unmatched.push(`${m.source} (shape)`);
        continue;
      }
      report.matched++;
      const update = updates.get(target.initializer) ?? { target, adds: [] };
      update.adds.push({ m, strength });
      updates.set(target.initializer, update);
    }
    reports.push(report);
  }
  let reencode = false;
  for (const [name, update] of updates) {
    const t = tensors.get(name)!;
    let bytes = tensorBytes(graph, t);
    if (!bytes) {
      bytes = toRawData(t);
      reencode = true;
    }
    patch(bytes, t, update);
  }
  return { model: reencode ? onnx.ModelProto.encode(graph.proto).finish() : graph.model, externalData: graph.externalData, reports };
}
