/**
 * A small ONNX graph builder: declared inputs/outputs, nodes with generated unique value names, initializers,
 * and seeded parameters. Layers are plain functions over a GraphBuilder and value names (strings).
 */
import { fillUniform, streamSeed } from './prng.js';
import { float32ToFloat16 } from '../tensor/float16.js';
import { bytesPerElement, onnxDType, type Dim, type TensorDType } from './onnx.js';

/** A float attribute (plain numbers are INT attributes, so a float must say so). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (value: number): FloatAttr => new FloatAttr(value);

export type Attr = number | readonly number[] | string | FloatAttr;
export type Attrs = Record<string, Attr>;

export interface ValueDecl {
  name: string;
  dtype: TensorDType;
  dims: readonly Dim[];
}

export interface NodeDecl {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Attrs;
}

export interface Initializer {
  name: string;
  dtype: TensorDType;
  dims: readonly number[];
  /** Little-endian element bytes. */
  bytes: Uint8Array;
}

/** How a parameter's values are drawn. */
export type ParamInit = { kind: 'uniform'; bound: number } | { kind: 'constant'; value: number };

export interface ParamOptions {
  /** Model seed; each parameter's stream is derived from it and the parameter's name. */
  seed: number;
  /**
   * Storage type of parameters. float16 parameters are cast to float32 in the graph. 'none' declares them without
   * values: the graph's structure and parameter count, at no memory cost, but it cannot be saved.
   */
  storage: 'float32' | 'float16' | 'none';
}

const elementCount = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export class GraphBuilder {
  readonly inputs: ValueDecl[] = [];
  readonly outputs: ValueDecl[] = [];
  readonly nodes: NodeDecl[] = [];
  readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constants = new Map<string, string>();
  /** Number of parameter values declared with param(). */
  paramCount = 0;

  constructor(
    readonly name: string,
    readonly params: ParamOptions,
  ) {}

  /** A name not used yet, derived from `hint`. */
  unique(hint: string): string {
    let name = hint;
    while (this.used.has(name)) {
      const n = (this.counters.get(hint) ?? 0) + 1;
      this.counters.set(hint, n);
      name = `${hint}_${n}`;
    }
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`duplicate value name ${name}`);
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: TensorDType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), dtype, dims });
    return name;
  }

  /** Declares `value` as graph output `name` (through an Identity when the names differ). */
  output(value: string, name: string, dtype: TensorDType, dims: readonly Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', name: this.unique(`${name}/Identity`), inputs: [value], outputs: [this.claim(name)], attrs: {} });
    this.outputs.push({ name, dtype, dims });
  }

  /** Adds a node; returns its output value names. An empty input name marks an omitted optional input. */
  node(opType: string, inputs: readonly string[], attrs: Attrs = {}, outputs = 1, hint = opType): string[] {
    const nodeName = this.unique(hint);
    const outs = Array.from({ length: outputs }, (_, i) => this.unique(outputs === 1 ? `${nodeName}/out` : `${nodeName}/out${i}`));
    this.nodes.push({ opType, name: nodeName, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Adds a single-output node; returns its output value name. */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, hint = opType): string {
    return this.node(opType, inputs, attrs, 1, hint)[0]!;
  }

  initializer(name: string, dtype: TensorDType, dims: readonly number[], data: ArrayBufferView): string {
    return this.addInitializer(this.claim(name), dtype, dims, data);
  }

  private addInitializer(name: string, dtype: TensorDType, dims: readonly number[], data: ArrayBufferView): string {
    if (data.byteLength !== elementCount(dims) * bytesPerElement(dtype))
      throw new Error(`initializer ${name}: ${data.byteLength} bytes for ${dtype}[${dims.join(',')}]`);
    this.initializers.push({ name, dtype, dims, bytes: bytesOf(data) });
    return name;
  }

  /** A shared int64 constant (deduplicated by value). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('int64', values, dims, () => BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** A shared float32 constant (deduplicated by value). */
  float32(values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.constant('float32', Array.from(values), dims, () => Float32Array.from(values));
  }

  private constant(dtype: TensorDType, values: readonly number[], dims: readonly number[], make: () => ArrayBufferView): string {
    const key = `${dtype}[${dims.join(',')}]:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = this.addInitializer(this.unique(`const_${dtype}`), dtype, dims, make());
    this.constants.set(key, name);
    return name;
  }

  /**
   * A trainable parameter named like its diffusers/transformers state-dict key, drawn from its own seeded
   * stream; returns a float32 value (a Cast follows float16 storage).
   */
  param(name: string, dims: readonly number[], init: ParamInit): string {
    const count = elementCount(dims);
    this.paramCount += count;
    if (this.params.storage === 'none') return this.claim(name);
    const values = new Float32Array(count);
    if (init.kind === 'uniform') fillUniform(values, streamSeed(this.params.seed, name), init.bound);
    else values.fill(init.value);
    if (this.params.storage === 'float32') return this.initializer(name, 'float32', dims, values);
    this.initializer(name, 'float16', dims, float32ToFloat16(values));
    return this.op('Cast', [name], { to: onnxDType('float32') }, `${name}/Cast`);
  }

  /** Total bytes of all initializers. */
  weightBytes(): number {
    return this.initializers.reduce((sum, init) => sum + init.bytes.byteLength, 0);
  }
}
