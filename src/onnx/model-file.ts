/**
 * Turns a GraphBuilder into an ONNX ModelProto and writes it, with large weights in one external data file
 * next to the model when the model would pass protobuf's 2 GB limit (or when asked).
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IR_VERSION, OPSET_VERSION, onnx, onnxDType, type AttributeProto, type Dim, type ModelProto, type TensorProto, type ValueInfoProto } from './onnx.js';
import { FloatAttr, type Attr, type GraphBuilder, type Initializer, type ValueDecl } from './graph.js';

export const PRODUCER_NAME = 'controlnet-server onnx-builder';

/** Protobuf messages cannot exceed 2 GiB; stay clear of it. */
const INLINE_LIMIT_BYTES = 1.8 * 1024 ** 3;
/** Tensors below this stay inline even in external mode (what onnx.save_model does by default). */
const EXTERNAL_MIN_BYTES = 1024;
/** External tensors start at multiples of this, so a loader may map them directly. */
const EXTERNAL_ALIGN = 4096;

export interface SaveOptions {
  /** 'auto' (default): external only when the weights would not fit a protobuf message. */
  externalData?: 'auto' | 'always' | 'never';
  /** File name of the external data, next to the model. Default `model.onnx_data`. */
  dataFileName?: string;
  producerVersion?: string;
  docString?: string;
}

export interface SavedModel {
  modelPath: string;
  modelBytes: number;
  /** Path and size of the external data file, when one was written. */
  dataPath?: string;
  dataBytes?: number;
}

function attribute(name: string, value: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (value instanceof FloatAttr) return { name, type: T.FLOAT, f: value.value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  return { name, type: T.INTS, ints: [...value] };
}

function valueInfo(decl: ValueDecl): ValueInfoProto {
  const dim = (d: Dim) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  return { name: decl.name, type: { tensorType: { elemType: onnxDType(decl.dtype), shape: { dim: decl.dims.map(dim) } } } };
}

function inlineTensor(init: Initializer): TensorProto {
  return { name: init.name, dataType: onnxDType(init.dtype), dims: [...init.dims], rawData: init.bytes };
}

function externalTensor(init: Initializer, location: string, offset: number): TensorProto {
  return {
    name: init.name,
    dataType: onnxDType(init.dtype),
    dims: [...init.dims],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(init.bytes.byteLength) },
    ],
  };
}

function modelProto(g: GraphBuilder, initializers: TensorProto[], opts: SaveOptions): ModelProto {
  if (g.params.storage === 'none') throw new Error(`${g.name}: built without parameter values, it cannot be saved`);
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: opts.producerVersion ?? '',
    docString: opts.docString ?? '',
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer: initializers,
    },
  };
}

/** The serialized model with every weight inline. */
export function encodeModel(g: GraphBuilder, opts: SaveOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(modelProto(g, g.initializers.map(inlineTensor), opts)).finish();
}

/** Writes the model to `modelPath` (its folder is created); see SaveOptions for external data. */
export function saveModel(g: GraphBuilder, modelPath: string, opts: SaveOptions = {}): SavedModel {
  mkdirSync(dirname(modelPath), { recursive: true });
  const mode = opts.externalData ?? 'auto';
  const external = mode === 'always' || (mode === 'auto' && g.weightBytes() > INLINE_LIMIT_BYTES);
  if (!external) {
    const bytes = encodeModel(g, opts);
    writeFileSync(modelPath, bytes);
    return { modelPath, modelBytes: bytes.byteLength };
  }
  const dataFileName = basename(opts.dataFileName ?? 'model.onnx_data');
  const dataPath = join(dirname(modelPath), dataFileName);
  const fd = openSync(dataPath, 'w');
  const tensors: TensorProto[] = [];
  let offset = 0;
  try {
    for (const init of g.initializers) {
      if (init.bytes.byteLength < EXTERNAL_MIN_BYTES) {
        tensors.push(inlineTensor(init));
        continue;
      }
      offset = Math.ceil(offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      for (let done = 0; done < init.bytes.byteLength; ) {
        done += writeSync(fd, init.bytes, done, init.bytes.byteLength - done, offset + done);
      }
      tensors.push(externalTensor(init, dataFileName, offset));
      offset += init.bytes.byteLength;
    }
  } finally {
    closeSync(fd);
  }
  const bytes = onnx.ModelProto.encode(modelProto(g, tensors, opts)).finish();
  writeFileSync(modelPath, bytes);
  return { modelPath, modelBytes: bytes.byteLength, dataPath, dataBytes: offset };
}
