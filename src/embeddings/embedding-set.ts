/**
 * A request's embeddings as one text encoder receives them: which vectors (SD's single set, or SDXL's clip_l for
 * text_encoder and clip_g for text_encoder_2), the cache key of the graph with them added, and the graph itself —
 * the token-embedding table with one row per vector appended (on top of the LoRA-merged graph when there is one),
 * with the tokens that index those rows.
 */
import { statSync } from 'node:fs';
import { badRequest } from '../domain/client-error.js';
import type { BaseModelFiles, EmbeddingRef } from '../domain/model-files.js';
import { type ExternalDataFile, externalTensorBytes, LoraMergeError, readGraphInMemory } from '../lora/graph-in-memory.js';
import { onnx, type ModelProto } from '../onnx/onnx.js';
import type { AddedToken } from '../tokenizer/added-tokens.js';
import type { EmbeddingPart } from './embedding-file.js';
import { readEmbedding } from './read-embedding.js';
import { appendRows, findTokenTable, type TokenTable, TokenTableError } from './token-table.js';
import { multiVectorTokens } from './trigger-words.js';

export interface EmbeddingUse {
  refs: readonly EmbeddingRef[];
  part: EmbeddingPart;
}

/** The embeddings of `model`'s request for one of its text encoders, or undefined when it has none. */
export function embeddingsFor(model: BaseModelFiles, encoder: 'text_encoder' | 'text_encoder_2'): EmbeddingUse | undefined {
  if (!model.embeddings || model.embeddings.length === 0) return undefined;
  const part: EmbeddingPart = model.sdxl ? (encoder === 'text_encoder' ? 'clip_l' : 'clip_g') : 'single';
  return { refs: model.embeddings, part };
}

/** The cache key of a graph with these embeddings added ('' for none): files with size and time, and the part. */
export function embeddingSetKey(use: EmbeddingUse | undefined): string {
  if (!use || use.refs.length === 0) return '';
  const files = use.refs.map((r) => {
    const st = statSync(r.path, { throwIfNoEntry: false });
    return `${r.path}:${st?.size ?? 0}:${st?.mtimeMs ?? 0}=${r.trigger}`;
  });
  return `embeddings[${use.part}] ${files.join('|')}`;
}

/** A graph onnxruntime opens from memory: the serialized proto and its external weight files by location. */
export interface GraphBytes {
  model: Uint8Array;
  externalData: ExternalDataFile[];
}

export interface GraphWithEmbeddings {
  graph: GraphBytes;
  /** The tokens the tokenizer must add, with the rows they index. */
  tokens: AddedToken[];
}

/** A graph this module cannot work on (no token table, weights it cannot read) as the request's 400; others as they are. */
function asClientError(err: unknown): unknown {
  return err instanceof TokenTableError || err instanceof LoraMergeError
    ? badRequest(`embeddings_model: this model cannot take embeddings: ${err.message}`)
    : err;
}

function tableOf(model: ModelProto): TokenTable {
  try {
    return findTokenTable(model, idsInputOf(model));
  } catch (err) {
    throw asClientError(err);
  }
}
/** The graph's token-ids input: its one integer input. */
function idsInputOf(model: ModelProto): string {
  const inits = new Set((model.graph!.initializer ?? []).map((t) => t.name));
  const ints = (model.graph!.input ?? []).filter(
    (i) => !inits.has(i.name) && [onnx.TensorProto.DataType.INT32, onnx.TensorProto.DataType.INT64].includes(i.type?.tensorType?.elemType ?? -1),
  );
  return ints[0]?.name ?? 'input_ids';
}

/** Brings the token table inline when the graph keeps it in an external file (only that tensor; the rest stay external). */
function inlineTable(model: ModelProto, externalData: readonly ExternalDataFile[]): void {
  const table = tableOf(model).tensor;
  if (table.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
  try {
    table.rawData = externalTensorBytes(externalData, table).slice();
  } catch (err) {
    throw asClientError(err);
  }
  table.externalData = [];
  table.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
}

/**
 * Adds the embeddings' vectors of `use.part` to the text encoder at `modelPath` (or to `base`, that graph with LoRAs
 * merged in) and serializes the graph. Only the token table travels inline; the other weights stay in their
 * (in-memory) external files, so a text encoder past protobuf's 2 GB (SDXL's in float32) takes embeddings too.
 */
export function addEmbeddings(modelPath: string, base: GraphBytes | null, use: EmbeddingUse): GraphWithEmbeddings {
  let model: ModelProto;
  let externalData: ExternalDataFile[];
  if (base) {
    model = onnx.ModelProto.decode(base.model);
    externalData = base.externalData;
  } else {
    try {
      ({ proto: model, externalData } = readGraphInMemory(modelPath));
    } catch (err) {
      throw asClientError(err);
    }
  }
  inlineTable(model, externalData);
  const tokens = appendEmbeddings(model, use);
  return { graph: { model: onnx.ModelProto.encode(model).finish(), externalData }, tokens };
}

/**
 * Appends the embeddings' vectors to the graph's token-embedding table (which must be inline; other weights may stay
 * external), in the order of the request, each embedding's vectors `<t>`, `<t>_1`, …; the tokens that index them.
 */
export function appendEmbeddings(model: ModelProto, use: EmbeddingUse): AddedToken[] {
  const table = tableOf(model);
  const tokens: AddedToken[] = [];
  for (const ref of use.refs) {
    const vectors = readEmbedding(ref.name, ref.path).parts[use.part];
    if (!vectors) throw badRequest(`embeddings_model: embedding "${ref.name}" has no ${use.part} vectors`);
    if (vectors.dim !== table.dim) {
      const encoder = use.part === 'clip_g' ? 'text_encoder_2' : 'text_encoder';
      throw badRequest(
        `embeddings_model: embedding "${ref.name}" has ${vectors.dim}-wide vectors, but this model's ${encoder} takes ${table.dim} ` +
          '(an embedding made for another base model: SD 1.x 768, SD 2.x 1024, SDXL clip_l 768 + clip_g 1280)',
      );
    }
    const first = appendRows(table, vectors.values);
    multiVectorTokens(ref.trigger, vectors.count).forEach((content, k) => tokens.push({ content, id: first + k }));
  }
  return tokens;
}
