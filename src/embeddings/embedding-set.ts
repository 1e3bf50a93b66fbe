/**
 * A request's embeddings as one text encoder receives them: which vectors (SD's single set, or SDXL's clip_l for
 * text_encoder and clip_g for text_encoder_2), the cache key of the graph with them added, and the graph itself —
 * the token-embedding table with one row per vector appended (on top of the LoRA-merged graph when there is one),
 * with the tokens that index those rows.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { badRequest } from '../domain/client-error.js';
import type { BaseModelFiles, EmbeddingRef } from '../domain/model-files.js';
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

export interface GraphWithEmbeddings {
  bytes: Uint8Array;
  /** The tokens the tokenizer must add, with the rows they index. */
  tokens: AddedToken[];
}

/** Makes every tensor inline: a graph opened from bytes has no folder to read external data from. */
function inlineExternal(model: ModelProto, modelDir: string): void {
  for (const t of model.graph!.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entries = new Map((t.externalData ?? []).map((e) => [e.key!, e.value!]));
    const file = resolve(modelDir, entries.get('location') ?? '');
    if (!file.startsWith(resolve(modelDir) + sep)) throw badRequest('embeddings_model: the text encoder keeps weights outside its folder');
    const data = readFileSync(file);
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : data.byteLength - offset;
    t.rawData = new Uint8Array(data.buffer, data.byteOffset + offset, length);
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
}

function tableOf(model: ModelProto): TokenTable {
  try {
    return findTokenTable(model, idsInputOf(model));
  } catch (err) {
    if (err instanceof TokenTableError) throw badRequest(`embeddings_model: this model cannot take embeddings: ${err.message}`);
    throw err;
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

/**
 * Adds the embeddings' vectors of `use.part` to the text encoder at `modelPath` (or to `base`, that graph with LoRAs
 * merged in, serialized with its weights inline) and serializes it.
 */
export function addEmbeddings(modelPath: string, base: Uint8Array | null, use: EmbeddingUse): GraphWithEmbeddings {
  const model = onnx.ModelProto.decode(base ?? readFileSync(modelPath));
  if (!base) inlineExternal(model, dirname(modelPath));
  const tokens = appendEmbeddings(model, use);
  return { bytes: onnx.ModelProto.encode(model).finish(), tokens };
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
