/**
 * The text encoder's token-embedding table in an ONNX graph, and the table with rows appended for added tokens
 * (diffusers' `resize_token_embeddings` + `input_embeddings.data[id] = vector`). The table is the rank-2 initializer
 * (through a float16 Cast or Identity) that a Gather indexes with the graph's token-ids input (through Reshape, Cast,
 * Flatten, Squeeze, Unsqueeze): torch's export names it `…token_embedding.weight`, but any name is found.
 */
import { onnx, type ModelProto, type NodeProto, type TensorProto } from '../onnx/onnx.js';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';

const DT = onnx.TensorProto.DataType;
const PASS_THROUGH = new Set(['Reshape', 'Cast', 'Identity', 'Flatten', 'Squeeze', 'Unsqueeze']);

export class TokenTableError extends Error {}

export interface TokenTable {
  tensor: TensorProto;
  rows: number;
  dim: number;
}

function producers(model: ModelProto): Map<string, NodeProto> {
  const map = new Map<string, NodeProto>();
  for (const n of model.graph!.node ?? []) for (const o of n.output ?? []) map.set(o, n);
  return map;
}

/** Whether `value` is the graph input `idsInput`, through shape-keeping ops on their data input only. */
function fromInput(value: string, idsInput: string, made: Map<string, NodeProto>): boolean {
  for (let hops = 0; hops < 8; hops++) {
    if (value === idsInput) return true;
    const p = made.get(value);
    if (!p || !PASS_THROUGH.has(p.opType ?? '')) return false;
    value = p.input![0]!;
  }
  return false;
}

/** The initializer a value comes from, through Cast and Identity (float16 storage). */
function initializerOf(value: string, made: Map<string, NodeProto>, inits: Map<string, TensorProto>): TensorProto | null {
  for (let hops = 0; hops < 4; hops++) {
    const t = inits.get(value);
    if (t) return t;
    const p = made.get(value);
    if (!p || (p.opType !== 'Cast' && p.opType !== 'Identity')) return null;
    value = p.input![0]!;
  }
  return null;
}

/** The table the token ids index. `idsInput` is the graph input of the ids (`input_ids`). */
export function findTokenTable(model: ModelProto, idsInput: string): TokenTable {
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const made = producers(model);
  const found: TensorProto[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Gather' || !fromInput(node.input?.[1] ?? '', idsInput, made)) continue;
    const t = initializerOf(node.input?.[0] ?? '', made, inits);
    if (t && (t.dims ?? []).length === 2 && !found.includes(t)) found.push(t);
  }
  if (found.length !== 1)
    throw new TokenTableError(
      found.length === 0
        ? 'its text encoder has no token-embedding table (a Gather of an initializer by the token ids) to add vectors to'
        : 'its text encoder has several tables indexed by the token ids; which one is the token embedding is unclear',
    );
  const t = found[0]!;
  if (t.dataType !== DT.FLOAT && t.dataType !== DT.FLOAT16) throw new TokenTableError(`the token-embedding table has element type ${t.dataType}`);
  const [rows, dim] = (t.dims ?? []).map(Number) as [number, number];
  return { tensor: t, rows, dim };
}

/** The table's values; an external table must be brought inline first (embedding-set.ts does). */
function tableValues(t: TensorProto): Float32Array | Uint16Array {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new TokenTableError('the token-embedding table is stored outside the graph');
  const raw = t.rawData && t.rawData.byteLength > 0 ? new Uint8Array(t.rawData) : null;
  if (t.dataType === DT.FLOAT) return raw ? new Float32Array(raw.slice().buffer) : Float32Array.from(t.floatData ?? []);
  return raw ? new Uint16Array(raw.slice().buffer) : Uint16Array.from((t.int32Data ?? []) as number[]);
}

/**
 * Appends `vectors` (count × dim float32 rows) to the table, in the table's element type (float16 rounds), and
 * returns the id of the first new row: the table's old row count.
 */
export function appendRows(table: TokenTable, vectors: Float32Array): number {
  const { tensor, rows, dim } = table;
  if (vectors.length % dim !== 0) throw new TokenTableError(`rows of ${dim} values expected`);
  const count = vectors.length / dim;
  const old = tableValues(tensor);
  const half = tensor.dataType === DT.FLOAT16;
  const next = half ? new Uint16Array(old.length + vectors.length) : new Float32Array(old.length + vectors.length);
  next.set(old as never, 0);
  next.set((half ? float32ToFloat16(vectors) : vectors) as never, old.length);
  tensor.rawData = new Uint8Array(next.buffer);
  tensor.floatData = [];
  tensor.int32Data = [];
  tensor.dims = [rows + count, dim];
  table.rows = rows + count;
  return rows;
}

/** The rows of the table as float32 (tests). */
export function tableRows(t: TensorProto): Float32Array {
  const v = tableValues(t);
  return v instanceof Float32Array ? v : float16ToFloat32(v);
}
