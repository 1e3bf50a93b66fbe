/** The contract's `embeddings_model`, resolved against models/embeddings/ and read (README "Embeddings"). */
import { badRequest } from '../domain/client-error.js';
import type { BaseModelFiles, EmbeddingRef } from '../domain/model-files.js';
import { readEmbedding } from '../embeddings/read-embedding.js';
import { unusedTriggerWarnings } from '../embeddings/trigger-words.js';
import type { ModelCatalog } from '../runtime/catalog.js';

/** At most this many embeddings per request. */
export const MAX_EMBEDDINGS = 8;

const INSTALL = 'put <id>.safetensors in models/embeddings/, or install one with load_model {"model_type": "embeddings", "url": "/abs/file.safetensors"}';

/**
 * The request's embeddings, each read and checked against the model's family (SD: one set of vectors; SDXL: clip_l
 * and clip_g), with warnings for a trigger word neither prompt uses. Empty when the field is absent.
 */
export function planEmbeddings(
  field: string | null,
  model: BaseModelFiles,
  catalog: ModelCatalog,
  prompt: string,
  negativePrompt: string | null,
  warnings: string[],
): EmbeddingRef[] {
  const names = (field ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (names.length === 0) {
    if (field !== null && field.trim() !== '') throw badRequest('embeddings_model: no embedding id given');
    return [];
  }
  if (names.length > MAX_EMBEDDINGS) throw badRequest(`embeddings_model: at most ${MAX_EMBEDDINGS} embeddings per request, got ${names.length}`);
  if (new Set(names).size !== names.length) throw badRequest('embeddings_model: an embedding is named twice');
  const installed = catalog.embeddings ?? new Map<string, string | null>();
  const refs = names.map((name): EmbeddingRef => {
    const path = installed.get(name);
    if (path === null)
      throw badRequest(
        `embeddings_model: "${name}" is a pickled file (.pt/.bin), which this server does not load (unpickling runs code); convert it to .safetensors`,
      );
    if (path === undefined) {
      const available = [...installed].filter(([, p]) => p !== null).map(([id]) => id);
      throw badRequest(`embeddings_model: unknown embedding "${name}"; available: ${available.join(', ') || '(none installed)'}; to install one, ${INSTALL}`);
    }
    const parsed = readEmbedding(name, path);
    const { parts } = parsed;
    if (model.sdxl) {
      if (!parts.clip_l || !parts.clip_g)
        throw badRequest(
          `embeddings_model: embedding "${name}" ${parsed.layout === 'sdxl' ? `has only ${parts.clip_l ? 'clip_l' : 'clip_g'} vectors` : 'has one set of vectors (an SD 1.x/2.x embedding)'}; ` +
            `model ${model.id} is SDXL and needs clip_l (text_encoder) and clip_g (text_encoder_2) vectors`,
        );
      if (parts.clip_l.count !== parts.clip_g.count)
        throw badRequest(`embeddings_model: embedding "${name}" has ${parts.clip_l.count} clip_l vectors but ${parts.clip_g.count} clip_g vectors`);
    } else if (!parts.single) {
      throw badRequest(`embeddings_model: embedding "${name}" is an SDXL embedding (clip_l/clip_g); model ${model.id} is not SDXL`);
    }
    // The text width the UNet takes (unet/config.json), where the folder says it: a mismatch is refused here, before
    // the queue (the worker checks each text encoder's table again).
    const width = Number(model.configs?.unet?.cross_attention_dim);
    const got = parts.single ? parts.single.dim : parts.clip_l!.dim + parts.clip_g!.dim;
    if (Number.isInteger(width) && width > 0 && got !== width) {
      const dims = parts.single ? `${got}-wide vectors` : `clip_l ${parts.clip_l!.dim} + clip_g ${parts.clip_g!.dim} = ${got}-wide vectors`;
      throw badRequest(
        `embeddings_model: embedding "${name}" has ${dims}, but model ${model.id}'s text encoder${model.sdxl ? 's take' : ' takes'} ${width} ` +
          '(an embedding made for another base model: SD 1.x 768, SD 2.x 1024, SDXL clip_l 768 + clip_g 1280)',
      );
    }
    const vectors = (parts.single ?? parts.clip_l)!.count;
    return { name, path, trigger: parsed.trigger ?? name, vectors };
  });
  const triggers = new Map<string, string>();
  for (const r of refs) {
    const other = triggers.get(r.trigger);
    if (other) throw badRequest(`embeddings_model: embeddings "${other}" and "${r.name}" have the same trigger word "${r.trigger}"`);
    triggers.set(r.trigger, r.name);
  }
  warnings.push(...unusedTriggerWarnings(refs, prompt, negativePrompt));
  return refs;
}
