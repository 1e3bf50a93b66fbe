/** The contract's `lora_model` / `lora_strength`, resolved against models/lora/ (README "LoRA"). */
import type { LoraRef } from '../lora/lora-set.js';
import type { ModelCatalog } from '../runtime/catalog.js';
import { badRequest } from '../domain/client-error.js';

/** At most this many LoRAs per request, and strengths within ±LIMIT. */
export const MAX_LORAS = 5;
export const STRENGTH_LIMIT = 10;

const split = (s: string | null) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function planLoras(loraModel: string | null, loraStrength: string | null, catalog: ModelCatalog): LoraRef[] {
  const names = split(loraModel);
  if (loraModel !== null && loraModel.trim() !== '' && names.length === 0) throw badRequest('lora_model: no LoRA id given');
  if (names.length === 0) {
    if (split(loraStrength).length > 0) throw badRequest('lora_strength: given without lora_model');
    return [];
  }
  if (names.length > MAX_LORAS) throw badRequest(`lora_model: at most ${MAX_LORAS} LoRAs per request, got ${names.length}`);
  if (new Set(names).size !== names.length) throw badRequest('lora_model: a LoRA is named twice');
  const installed = catalog.loras ?? new Map<string, string | null>();
  const strengths = split(loraStrength).map((s) => {
    const v = Number(s);
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s) || !Number.isFinite(v) || Math.abs(v) > STRENGTH_LIMIT) {
      throw badRequest(`lora_strength: "${s.slice(0, 40)}" is not a number within -${STRENGTH_LIMIT}..${STRENGTH_LIMIT}`);
    }
    return v;
  });
  if (strengths.length > 1 && strengths.length !== names.length) {
    throw badRequest(`lora_strength: give one value, or one per LoRA (${names.length}), got ${strengths.length}`);
  }
  return names.map((name, k) => {
    const path = installed.get(name);
    if (path === null)
      throw badRequest(
        `lora_model: "${name}" is a pickled file (.pt/.ckpt/.bin), which this server does not load (unpickling runs code); convert it to .safetensors`,
      );
    if (path === undefined) {
      const available = [...installed].filter(([, p]) => p !== null).map(([id]) => id);
      throw badRequest(`lora_model: unknown LoRA "${name}"; available: ${available.join(', ') || '(none installed; put <id>.safetensors in models/lora/)'}`);
    }
    return { name, path, strength: strengths.length === 0 ? 1 : strengths.length === 1 ? strengths[0]! : strengths[k]! };
  });
}
