/**
 * A graph and its weights in memory, each byte once, for a merge that patches weights in place: the model file is
 * read once (its inline weights are views into that buffer, as protobuf decodes them), and each external data file
 * it names is read once into one buffer, which onnxruntime takes as SessionOptions.externalData under the location
 * the graph names. Nothing is written to disk and the graph proto is not rebuilt: patching a tensor's bytes changes
 * what the session gets.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { dirname, resolve, sep } from 'node:path';
import { onnx, type ModelProto, type TensorProto } from '../onnx/onnx.js';

/** The error a LoRA that cannot be merged into a graph raises (its message names no path). */
export class LoraMergeError extends Error {}

/** What onnxruntime's SessionOptions.externalData takes: a file's bytes by the location the graph names. */
export interface ExternalDataFile {
  path: string;
  data: Uint8Array;
}

export interface GraphInMemory {
  /** The model file's bytes (the weights stored inline included). */
  model: Buffer;
  /** The decoded graph; its inline `rawData` are views into `model`. */
  proto: ModelProto;
  /** Every external data file the graph names, read once. */
  externalData: ExternalDataFile[];
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
/** One read() call moves at most this much (Linux caps a read at about 2 GiB). */
const READ_CHUNK = 1024 ** 3;

/** Every initializer of the graph and of its subgraphs (If, Loop, Scan bodies). */
function* allInitializers(graph: ModelProto['graph']): Generator<TensorProto> {
  if (!graph) return;
  yield* graph.initializer ?? [];
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.g) yield* allInitializers(a.g);
      for (const g of a.graphs ?? []) yield* allInitializers(g);
    }
  }
}

function externalEntry(t: TensorProto, key: string): string | undefined {
  return (t.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/** The whole file in one buffer, read in chunks (one read() stops near 2 GiB). */
function readWhole(file: string, what: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > bufferConstants.MAX_LENGTH) {
      throw new LoraMergeError(
        `${what}: the graph's external weight file is ${(size / 1024 ** 3).toFixed(1)} GiB, more than one buffer holds on this Node.js (${(bufferConstants.MAX_LENGTH / 1024 ** 3).toFixed(0)} GiB; Node.js 22 or later lifts it)`,
      );
    }
    const out = Buffer.allocUnsafe(size);
    for (let done = 0; done < size; ) {
      const got = readSync(fd, out, done, Math.min(READ_CHUNK, size - done), done);
      if (got === 0) throw new LoraMergeError(`${what}: the external weight file ended while it was read`);
      done += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads the graph at `modelPath` and every external data file it names (each once, however many tensors share it). */
export function readGraphInMemory(modelPath: string): GraphInMemory {
  const model = readFileSync(modelPath);
  const proto = onnx.ModelProto.decode(model);
  const folder = resolve(dirname(modelPath));
  const files = new Map<string, Buffer>();
  for (const t of allInitializers(proto.graph)) {
    if (t.dataLocation !== EXTERNAL) continue;
    const location = externalEntry(t, 'location') ?? '';
    if (files.has(location)) continue;
    const file = resolve(folder, location);
    if (!file.startsWith(folder + sep)) throw new LoraMergeError(`tensor ${t.name}: external data outside the model folder`);
    files.set(location, readWhole(file, `tensor ${t.name}`));
  }
  return { model, proto, externalData: [...files].map(([path, data]) => ({ path, data })) };
}

/**
 * The bytes of one initializer, as a view into the buffer that holds them (writing to it changes what the session
 * gets); null when its values are stored in the typed fields (`float_data`, `int32_data`) instead of raw bytes.
 */
export function tensorBytes(graph: GraphInMemory, t: TensorProto): Uint8Array | null {
  if (t.dataLocation === EXTERNAL) return externalTensorBytes(graph.externalData, t);
  const raw = t.rawData;
  if (!raw || raw.byteLength === 0) return null;
  // Decoded from `model`, raw data is a view into it; a copy would not reach the session.
  if (raw.buffer !== graph.model.buffer) throw new LoraMergeError(`tensor ${t.name}: its bytes are not part of the model file`);
  return raw;
}

/** The bytes of an external initializer, as a view into the in-memory weight file that holds them. */
export function externalTensorBytes(externalData: readonly ExternalDataFile[], t: TensorProto): Uint8Array {
  const location = externalEntry(t, 'location') ?? '';
  const data = externalData.find((f) => f.path === location)?.data;
  if (!data) throw new LoraMergeError(`tensor ${t.name}: its external weight file was not read`);
  const offset = Number(externalEntry(t, 'offset') ?? 0);
  const lengthEntry = externalEntry(t, 'length');
  const length = lengthEntry === undefined ? data.byteLength - offset : Number(lengthEntry);
  if (!(offset >= 0 && length >= 0 && offset + length <= data.byteLength)) {
    throw new LoraMergeError(`tensor ${t.name}: its external data lies past the end of the weight file`);
  }
  return data.subarray(offset, offset + length);
}
