/**
 * One ONNX graph per denoising step: 1–4 ControlNets, their conditioning scales (graph inputs, so one graph serves
 * every scale), guess mode's factors and zero half, the residual sum, and the UNet — merged at load, in memory, from
 * the exported graphs. One run() per step then returns only the noise prediction: the residuals never leave the
 * runtime (with CUDA they stay on the GPU).
 *
 * Every node, value and initializer of ControlNet k is renamed `cn<k>/…`, the UNet's `unet/…`, the glue's `fused/…`.
 * Inputs: the UNet's `sample`, `timestep`, `encoder_hidden_states` (shared; in guess mode with CFG the ControlNets
 * take their second, conditional half through Slice), `controlnet_cond_<k>` and `scale_<k>` (float32 scalar).
 * Output: `noise_pred`. The residual math mirrors residual-sum-graph.ts (float32 products and sums, one rounding to
 * the UNet's type). Weights stored outside the protobuf (external data) are read into memory and handed to
 * onnxruntime as `externalData`; large inline weights can be moved there too, so the merged protobuf stays far below
 * its 2 GiB limit (an SD 1.5 UNet and ControlNet are ~2.2 GB in float32).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onnx, onnxDType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx/onnx.js';
import type { ControlNetSignature, TensorSpec, UNetSignature } from '../runtime/signatures.js';

/** Graph input and output names of the fused step graph. */
export const FUSED = {
  sample: 'sample',
  timestep: 'timestep',
  hiddenStates: 'encoder_hidden_states',
  cond: (k: number) => `controlnet_cond_${k}`,
  scale: (k: number) => `scale_${k}`,
  output: 'noise_pred',
} as const;

/** At most this many ControlNets in one fused graph (the contract's limit). */
export const MAX_FUSED_CONTROLNETS = 4;

export interface FusedSource<S> {
  /** The .onnx file (external data is looked up next to it). */
  path: string;
  signature: S;
}

/** What changes the graph's structure (scales do not: they are inputs). */
export interface FusedVariant {
  /** diffusers' guess mode: ControlNets on the conditional half, residual r × guessScales[r]. */
  guess: boolean;
  /** Guess mode with CFG: the ControlNets see the second half of the batch; the first half of each residual is 0. */
  halfBatch: boolean;
  /** Per-residual guess-mode factors (float32 values). */
  guessScales: readonly number[];
}

export interface BuildOptions {
  /**
   * Inline weights of at least this many bytes are moved to in-memory external data. Default: only when the inline
   * weights of all graphs together pass 1.5 GiB (protobuf's limit is 2 GiB).
   */
  externalizeFrom?: number;
}

export interface FusedModel {
  model: Uint8Array;
  /** For SessionOptions.externalData: the weights outside the protobuf, by the location the model names. */
  externalData: { path: string; data: Uint8Array }[];
}

const INLINE_BUDGET = 1.5 * 1024 ** 3;
const MIN_EXTERNAL_BYTES = 1024;

/**
 * Why these graphs cannot be fused (null when they can). The fused graph covers SD 1.x/2.x graphs with dynamic
 * batch whose ControlNets share the UNet's float type and timestep form, with full-size (not pooled) residuals.
 */
export function fusedCoverage(unet: UNetSignature, controlnets: readonly ControlNetSignature[]): string | null {
  if (controlnets.length === 0) return 'no ControlNet';
  if (controlnets.length > MAX_FUSED_CONTROLNETS) return `more than ${MAX_FUSED_CONTROLNETS} ControlNets`;
  if (unet.batch !== null) return 'the UNet has a fixed batch size';
  if (unet.addedConditions.length > 0) return 'the UNet takes added conditions (SDXL)';
  if (typeof unet.timestep.shape[0] === 'number') return 'the UNet has a fixed timestep length';
  for (const [k, cn] of controlnets.entries()) {
    const what = `ControlNet ${k}`;
    if (cn.floatType !== unet.floatType) return `${what} is ${cn.floatType}, the UNet ${unet.floatType}`;
    if (cn.batch !== null) return `${what} has a fixed batch size`;
    if (cn.pooled) return `${what} pools its conditions (broadcast residuals)`;
    if (cn.addedConditions.length > 0) return `${what} takes added conditions`;
    if (cn.outputs.length !== unet.residuals.length) return `${what} has ${cn.outputs.length} residuals, the UNet ${unet.residuals.length}`;
    if (cn.timestep.type !== unet.timestep.type || cn.timestep.shape.length !== unet.timestep.shape.length) return `${what}'s timestep differs from the UNet's`;
    if (cn.hiddenStates.type !== unet.hiddenStates.type) return `${what}'s text states differ from the UNet's in type`;
  }
  return null;
}

interface Renamer {
  prefix: string;
  /** Names replaced outright (the graph's inputs, wired to fused values). */
  wired: Map<string, string>;
}

const renamed = (r: Renamer, name: string | null | undefined): string => {
  if (!name) return '';
  return r.wired.get(name) ?? r.prefix + name;
};

/** The fused graph under construction: merged nodes, initializers and the external weights they point to. */
class Merger {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];
  readonly externalData: { path: string; data: Uint8Array }[] = [];
  private counter = 0;

  constructor(private readonly externalizeFrom: number) {}

  /** Adds a source graph's nodes, initializers and value infos under its renamer. */
  addGraph(graph: NonNullable<ModelProto['graph']>, r: Renamer, dir: string, tag: string): void {
    for (const t of graph.initializer ?? []) this.initializers.push(this.tensor(t, r, dir, tag));
    for (const v of graph.valueInfo ?? []) if (!r.wired.has(v.name ?? '')) this.valueInfo.push({ ...v, name: renamed(r, v.name) });
    for (const n of graph.node ?? []) this.nodes.push(this.node(n, r, dir, tag));
  }

  private node(n: NodeProto, r: Renamer, dir: string, tag: string): NodeProto {
    return {
      ...n,
      name: n.name ? r.prefix + n.name : n.name,
      input: (n.input ?? []).map((x) => renamed(r, x)),
      output: (n.output ?? []).map((x) => renamed(r, x)),
      attribute: (n.attribute ?? []).map((a) => {
        if (a.g) return { ...a, g: this.subgraph(a.g, r, dir, tag) };
        if (a.graphs && a.graphs.length > 0) return { ...a, graphs: a.graphs.map((g) => this.subgraph(g, r, dir, tag)) };
        return a;
      }),
    };
  }

  /** A subgraph (If, Loop, Scan): every name renamed the same way, so outer-scope references still resolve. */
  private subgraph(g: NonNullable<ModelProto['graph']>, r: Renamer, dir: string, tag: string): NonNullable<ModelProto['graph']> {
    const info = (v: ValueInfoProto) => ({ ...v, name: renamed(r, v.name) });
    return {
      ...g,
      node: (g.node ?? []).map((n) => this.node(n, r, dir, tag)),
      initializer: (g.initializer ?? []).map((t) => this.tensor(t, r, dir, tag)),
      input: (g.input ?? []).map(info),
      output: (g.output ?? []).map(info),
      valueInfo: (g.valueInfo ?? []).map(info),
    };
  }

  /** An initializer, renamed; external data is read into memory, large inline data moved there when asked. */
  private tensor(t: TensorProto, r: Renamer, dir: string, tag: string): TensorProto {
    const name = renamed(r, t.name);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      // Read tensor by tensor: an external data file may pass 2 GiB, more than one Buffer holds.
      const entry = (key: string) => (t.externalData ?? []).find((e) => e.key === key)?.value;
      const data = readSlice(join(dir, entry('location') ?? ''), Number(entry('offset') ?? 0), entry('length'));
      return this.external({ ...t, name }, data, tag);
    }
    const raw = t.rawData;
    if (raw && raw.byteLength >= Math.max(this.externalizeFrom, MIN_EXTERNAL_BYTES)) return this.external({ ...t, name, rawData: undefined }, raw, tag);
    return { ...t, name };
  }

  /** The tensor with its bytes as one in-memory external data entry of its own. */
  private external(t: TensorProto, data: Uint8Array, tag: string): TensorProto {
    const path = `${tag}_w${this.counter++}.bin`;
    this.externalData.push({ path, data });
    return {
      ...t,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: path },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(data.byteLength) },
      ],
    };
  }
}

/** `length` bytes (the rest of the file when absent) of an external data file from `offset`. */
function readSlice(file: string, offset: number, length: string | null | undefined): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const n = length === undefined || length === null ? fstatSync(fd).size - offset : Number(length);
    const out = Buffer.allocUnsafe(n);
    for (let done = 0; done < n; ) {
      const got = readSync(fd, out, done, n - done, offset + done);
      if (got === 0) throw new FusedGraphError(`external data ends before ${offset + n} bytes`);
      done += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Glue nodes in the fused graph's own namespace. */
class Glue {
  private n = 0;
  constructor(private readonly m: Merger) {}

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    const name = `fused/${opType}_${this.n++}`;
    const out = `${name}/out`;
    const attribute = Object.entries(attrs).map(([k, v]) =>
      Array.isArray(v) ? { name: k, type: onnx.AttributeProto.AttributeType.INTS, ints: v } : { name: k, type: onnx.AttributeProto.AttributeType.INT, i: v },
    );
    this.m.nodes.push({ name, opType, input: inputs, output: [out], attribute });
    return out;
  }

  int64(values: number[]): string {
    const name = `fused/const_${this.n++}`;
    this.m.initializers.push({ name, dataType: onnxDType('int64'), dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) });
    return name;
  }

  float32Scalar(value: number): string {
    const name = `fused/const_${this.n++}`;
    this.m.initializers.push({ name, dataType: onnxDType('float32'), dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }
}

const valueInfo = (name: string, s: TensorSpec): ValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType: onnxDType(s.type as 'float32'),
      shape: { dim: s.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

function decode(path: string): ModelProto {
  return onnx.ModelProto.decode(readFileSync(path));
}

function defaultOpset(m: ModelProto): number {
  const v = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  return Number(v ?? 0);
}

function inlineBytes(m: ModelProto): number {
  return (m.graph?.initializer ?? []).reduce((sum, t) => sum + (t.rawData?.byteLength ?? 0), 0);
}

export class FusedGraphError extends Error {}

/** Builds the fused step graph of `unet` and `controlnets` (in the request's order) for one variant. */
export function buildFusedStepModel(
  unet: FusedSource<UNetSignature>,
  controlnets: readonly FusedSource<ControlNetSignature>[],
  variant: FusedVariant,
  options: BuildOptions = {},
): FusedModel {
  const why = fusedCoverage(
    unet.signature,
    controlnets.map((c) => c.signature),
  );
  if (why) throw new FusedGraphError(`cannot fuse: ${why}`);
  const unetModel = decode(unet.path);
  const cnModels = controlnets.map((c) => decode(c.path));
  const opset = defaultOpset(unetModel);
  for (const [k, m] of cnModels.entries()) {
    if (defaultOpset(m) !== opset) throw new FusedGraphError(`cannot fuse: ControlNet ${k} has opset ${defaultOpset(m)}, the UNet ${opset}`);
  }
  const total = [unetModel, ...cnModels].reduce((sum, m) => sum + inlineBytes(m), 0);
  const externalizeFrom = options.externalizeFrom ?? (total > INLINE_BUDGET ? MIN_EXTERNAL_BYTES : Number.POSITIVE_INFINITY);
  const merger = new Merger(externalizeFrom);
  const glue = new Glue(merger);
  const u = unet.signature;

  // The ControlNets' share of the batch: everything, or the conditional half (guess mode with CFG).
  let cnSample: string = FUSED.sample;
  let cnTimestep: string = FUSED.timestep;
  let cnHidden: string = FUSED.hiddenStates;
  if (variant.halfBatch) {
    const batch = glue.op('Gather', [glue.op('Shape', [FUSED.sample]), glue.int64([0])]);
    const half = glue.op('Div', [batch, glue.int64([2])]);
    const end = glue.int64([Number.MAX_SAFE_INTEGER]);
    const axis = glue.int64([0]);
    const second = (x: string) => glue.op('Slice', [x, half, end, axis]);
    cnSample = second(FUSED.sample);
    cnHidden = second(FUSED.hiddenStates);
    if (u.timestep.shape.length === 1) cnTimestep = second(FUSED.timestep);
  }

  const residualTerms: string[][] = u.residuals.map(() => []);
  const inputs: ValueInfoProto[] = [valueInfo(FUSED.sample, u.sample), valueInfo(FUSED.timestep, u.timestep), valueInfo(FUSED.hiddenStates, u.hiddenStates)];
  controlnets.forEach((c, k) => {
    const sig = c.signature;
    const wired = new Map<string, string>([
      [sig.sample.name, cnSample],
      [sig.timestep.name, cnTimestep],
      [sig.hiddenStates.name, cnHidden],
      [sig.cond.name, FUSED.cond(k)],
    ]);
    inputs.push(valueInfo(FUSED.cond(k), sig.cond), { ...valueInfo(FUSED.scale(k), { name: '', type: 'float32', shape: [] }) });
    if (sig.scale) {
      // The graph scales its own outputs: hand it the scale in its form.
      let s = sig.scale.shape.length === 1 ? glue.op('Reshape', [FUSED.scale(k), glue.int64([1])]) : FUSED.scale(k);
      if (sig.scale.type !== 'float32') s = glue.op('Cast', [s], { to: onnxDType(sig.scale.type as 'float16') });
      wired.set(sig.scale.name, s);
    }
    const r: Renamer = { prefix: `cn${k}/`, wired };
    merger.addGraph(cnModels[k]!.graph!, r, dirname(c.path), `cn${k}`);
    sig.outputs.forEach((o, i) => {
      let x = renamed(r, o.name);
      if (sig.floatType === 'float16') x = glue.op('Cast', [x], { to: onnxDType('float32') });
      if (!sig.scale) x = glue.op('Mul', [x, FUSED.scale(k)]);
      residualTerms[i]!.push(x);
    });
  });

  const unetWired = new Map<string, string>([
    [u.sample.name, FUSED.sample],
    [u.timestep.name, FUSED.timestep],
    [u.hiddenStates.name, FUSED.hiddenStates],
  ]);
  u.residuals.forEach((spec, i) => {
    let sum = residualTerms[i]!.reduce((acc, x) => (acc === '' ? x : glue.op('Add', [acc, x])), '');
    if (variant.guess) sum = glue.op('Mul', [sum, glue.float32Scalar(variant.guessScales[i]!)]);
    // ConstantOfShape's default value is a float32 zero: exact zeros, as diffusers' torch.zeros_like.
    if (variant.halfBatch) sum = glue.op('Concat', [glue.op('ConstantOfShape', [glue.op('Shape', [sum])]), sum], { axis: 0 });
    if (u.floatType === 'float16') sum = glue.op('Cast', [sum], { to: onnxDType('float16') });
    unetWired.set(spec.name, sum);
  });
  const ur: Renamer = { prefix: 'unet/', wired: unetWired };
  merger.addGraph(unetModel.graph!, ur, dirname(unet.path), 'unet');
  merger.nodes.push({ name: 'fused/output', opType: 'Identity', input: [renamed(ur, u.output.name)], output: [FUSED.output], attribute: [] });

  const opsets = new Map<string, number>();
  for (const m of [unetModel, ...cnModels]) {
    for (const o of m.opsetImport ?? []) {
      const domain = o.domain === 'ai.onnx' ? '' : (o.domain ?? '');
      opsets.set(domain, Math.max(opsets.get(domain) ?? 0, Number(o.version ?? 0)));
    }
  }
  const functions = new Map<string, NonNullable<ModelProto['functions']>[number]>();
  for (const m of [unetModel, ...cnModels]) for (const f of m.functions ?? []) functions.set(`${f.domain}/${f.name}`, f);

  const model: ModelProto = {
    irVersion: Math.max(...[unetModel, ...cnModels].map((m) => Number(m.irVersion ?? 0))),
    opsetImport: [...opsets].map(([domain, version]) => ({ domain, version })),
    producerName: 'controlnet-server fused-step',
    functions: [...functions.values()],
    graph: {
      name: 'fused_step',
      node: merger.nodes,
      initializer: merger.initializers,
      input: inputs,
      output: [valueInfo(FUSED.output, u.output)],
      valueInfo: merger.valueInfo,
    },
  };
  return { model: onnx.ModelProto.encode(model).finish(), externalData: merger.externalData };
}
