/**
 * A textual-inversion embedding file (safetensors only) in the layouts diffusers and AUTOMATIC1111 write:
 * - AUTOMATIC1111: `emb_params` [n, dim] (its safetensors), or `string_to_param.*` [n, dim]; the trigger word is
 *   `__metadata__.name` when the header has one;
 * - diffusers: one tensor `{"<token>": [dim] or [n, dim]}`; the key is the trigger word;
 * - SDXL: `clip_l` [n, 768] (text_encoder) and `clip_g` [n, 1280] (text_encoder_2).
 * Otherwise the trigger word is the file's id. Vectors are float32 rows, [n × dim].
 */
import type { SafetensorsFile, SafetensorsTensor } from '../weights/safetensors.js';

/** Which text encoder a set of vectors belongs to: `single` for SD 1.x/2.x files, `clip_l`/`clip_g` for SDXL's pair. */
export type EmbeddingPart = 'single' | 'clip_l' | 'clip_g';

export interface EmbeddingVectors {
  /** Rows. */
  count: number;
  dim: number;
  /** count × dim, row-major. */
  values: Float32Array;
}

export interface ParsedEmbedding {
  /** The trigger word the file names, or null (then it is the id). */
  trigger: string | null;
  layout: 'automatic1111' | 'diffusers' | 'sdxl';
  parts: Partial<Record<EmbeddingPart, EmbeddingVectors>>;
}

/** A file none of the layouts describes (the message names no path). */
export class EmbeddingFileError extends Error {}

function rows(t: SafetensorsTensor): EmbeddingVectors {
  if (t.shape.length === 1 && t.shape[0]! > 0) return { count: 1, dim: t.shape[0]!, values: t.values };
  if (t.shape.length === 2 && t.shape[0]! > 0 && t.shape[1]! > 0) return { count: t.shape[0]!, dim: t.shape[1]!, values: t.values };
  throw new EmbeddingFileError(`tensor "${t.name}" has shape [${t.shape.join(', ')}], not [dim] or [vectors, dim]`);
}

export function parseEmbedding(file: SafetensorsFile): ParsedEmbedding {
  const { tensors, metadata } = file;
  const named = typeof metadata.name === 'string' && metadata.name.trim() !== '' ? metadata.name.trim() : null;
  const clipL = tensors.get('clip_l');
  const clipG = tensors.get('clip_g');
  if (clipL || clipG) {
    const parts: ParsedEmbedding['parts'] = {};
    if (clipL) parts.clip_l = rows(clipL);
    if (clipG) parts.clip_g = rows(clipG);
    return { trigger: named, layout: 'sdxl', parts };
  }
  const a1111 = tensors.get('emb_params') ?? [...tensors.values()].find((t) => t.name.startsWith('string_to_param.'));
  if (a1111) return { trigger: named, layout: 'automatic1111', parts: { single: rows(a1111) } };
  if (tensors.size === 1) {
    const [t] = tensors.values();
    return { trigger: named ?? t!.name, layout: 'diffusers', parts: { single: rows(t!) } };
  }
  throw new EmbeddingFileError(
    tensors.size === 0
      ? 'the file holds no tensor'
      : `its ${tensors.size} tensors are in no embedding layout this server reads (AUTOMATIC1111 emb_params / string_to_param, diffusers' one "<token>" tensor, SDXL clip_l + clip_g)`,
  );
}
