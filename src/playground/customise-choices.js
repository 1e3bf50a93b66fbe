// @ts-check
/**
 * What the "Customise" section can offer, read from `get_all_models` (no DOM here): the installed LoRAs and
 * textual-inversion embeddings, the `upscale` values the installed upscalers allow, and which models have a
 * safety checker. A listing without one of these parts (an older server) leaves that control to the server's 400.
 */

/** @typedef {{ model_id: string, model_type: string, trigger_word?: string, trigger_words?: string[] }} ListedModel */
/** @typedef {{ name: string, scale: number | null }} ListedUpscaler */
/** @typedef {{ models: ListedModel[], upscalers?: ListedUpscaler[], safety_checker?: { shared: boolean, models: string[] } }} Listing */
/** @typedef {{ id: string, trigger: string }} Embedding */
/** @typedef {{ value: string, label: string }} Choice */
/**
 * @typedef {{
 *   loras: string[],
 *   embeddings: Embedding[],
 *   upscale: { options: Choice[], installed: boolean | null },
 *   safetyChecker: { shared: boolean, models: string[] } | null,
 * }} CustomiseChoices
 */

/** The model types a listing may give textual-inversion embeddings (`load_model` takes these spellings). */
const EMBEDDING_TYPES = new Set(['embeddings', 'embedding', 'textual_inversion', 'textual-inversion']);

/** The factors the contract's `upscale` takes besides "yes" (= 2). */
const FACTORS = [2, 4];

/**
 * The upscaler the server would pick for a factor (src/runtime/upscalers.ts pickUpscaler): one of exactly that
 * scale, else a larger one (resized down), else one of unknown scale.
 * @param {ListedUpscaler[]} upscalers @param {number} factor
 */
export function upscalerFor(upscalers, factor) {
  return (
    upscalers.find((u) => u.scale === factor) ?? upscalers.find((u) => u.scale !== null && u.scale > factor) ?? upscalers.find((u) => u.scale === null) ?? null
  );
}

/** @param {ListedModel} m */
function triggerOf(m) {
  if (typeof m.trigger_word === 'string' && m.trigger_word) return m.trigger_word;
  if (Array.isArray(m.trigger_words) && typeof m.trigger_words[0] === 'string') return m.trigger_words[0];
  // The server's default trigger word is the embedding's id (unless its file names another one).
  return m.model_id;
}

/**
 * @param {Listing} listing `get_all_models`' answer
 * @returns {CustomiseChoices}
 */
export function customiseChoices(listing) {
  const models = listing.models ?? [];
  const loras = models.filter((m) => m.model_type === 'lora').map((m) => String(m.model_id));
  const embeddings = models.filter((m) => EMBEDDING_TYPES.has(m.model_type)).map((m) => ({ id: String(m.model_id), trigger: triggerOf(m) }));
  /** @type {Choice[]} */
  const options = [{ value: 'no', label: 'no' }];
  const upscalers = listing.upscalers;
  if (!upscalers) {
    // Nothing said: offer the contract's values; the server's 400 tells what is missing.
    options.push({ value: 'yes', label: 'yes (2×)' }, { value: '4', label: '4×' });
  } else {
    for (const factor of FACTORS) {
      const u = upscalerFor(upscalers, factor);
      if (!u) continue;
      const by = u.scale === null || u.scale === factor ? u.name : `${u.name}, ${u.scale}× resized`;
      options.push(factor === 2 ? { value: 'yes', label: `yes: 2× (${by})` } : { value: String(factor), label: `${factor}× (${by})` });
    }
  }
  return {
    loras,
    embeddings,
    upscale: { options, installed: upscalers ? upscalers.length > 0 : null },
    safetyChecker: listing.safety_checker ? { shared: Boolean(listing.safety_checker.shared), models: listing.safety_checker.models ?? [] } : null,
  };
}

/**
 * Whether `safety_checker: "yes"` can run for a model: null when the listing does not say.
 * @param {CustomiseChoices} choices @param {string} modelId
 */
export function safetyCheckerInstalled(choices, modelId) {
  if (!choices.safetyChecker) return null;
  return choices.safetyChecker.shared || choices.safetyChecker.models.includes(modelId);
}

/**
 * The contract's fields for what is picked: comma lists for LoRAs (one strength each) and embeddings; fields
 * left out when nothing is picked.
 * @param {{ loras: { id: string, strength: string }[], embeddings: string[], upscale: string, safetyChecker: boolean }} picked
 * @returns {Record<string, string>}
 */
export function customiseFields(picked) {
  /** @type {Record<string, string>} */
  const fields = {};
  if (picked.loras.length > 0) {
    fields.lora_model = picked.loras.map((l) => l.id).join(',');
    fields.lora_strength = picked.loras.map((l) => l.strength.trim() || '1').join(',');
  }
  if (picked.embeddings.length > 0) fields.embeddings_model = picked.embeddings.join(',');
  fields.upscale = picked.upscale || 'no';
  fields.safety_checker = picked.safetyChecker ? 'yes' : 'no';
  return fields;
}

/**
 * The prompt with `word` added at its end (after a comma), unless it is in it already.
 * @param {string} prompt @param {string} word
 */
export function withTrigger(prompt, word) {
  if (prompt.split(/[\s,]+/).includes(word)) return prompt;
  const trimmed = prompt.trimEnd();
  return trimmed ? `${trimmed}${/[,;]$/.test(trimmed) ? '' : ','} ${word}` : word;
}

/**
 * The prompt without `word` (and the comma or space before it), where withTrigger put it.
 * @param {string} prompt @param {string} word
 */
export function withoutTrigger(prompt, word) {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return prompt
    .replace(new RegExp(`(^|[\\s,]+)${escaped}(?=$|[\\s,])`), '')
    .replace(/^[\s,]+/, '')
    .trimEnd();
}
