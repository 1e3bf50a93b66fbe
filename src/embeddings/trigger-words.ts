/**
 * Trigger words: the tokens an embedding adds (diffusers' `_extend_tokens_and_embeddings`: `<t>` for one vector,
 * `<t>`, `<t>_1`, … `<t>_{n-1}` for n), the check that they are new to the tokenizer (diffusers refuses a token
 * already in the vocabulary), and the warning for one the prompts do not use.
 */
import { badRequest } from '../domain/client-error.js';
import type { EmbeddingRef } from '../domain/model-files.js';
import type { AddedToken } from '../tokenizer/added-tokens.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

export function multiVectorTokens(trigger: string, count: number): string[] {
  return Array.from({ length: count }, (_, k) => (k === 0 ? trigger : `${trigger}_${k}`));
}

/** The tokenizer with the embeddings' tokens added; a 400 when one is already a token of it (as diffusers refuses it). */
export function tokenizerWithEmbeddings(
  tokenizer: ClipTokenizer,
  tokens: readonly AddedToken[] | undefined,
  refs: readonly EmbeddingRef[] = [],
): ClipTokenizer {
  if (!tokens || tokens.length === 0) return tokenizer;
  for (const t of tokens) {
    if (!tokenizer.hasToken(t.content)) continue;
    const owner = refs.find((r) => t.content === r.trigger || t.content.startsWith(`${r.trigger}_`));
    throw badRequest(
      `embeddings_model: the trigger word "${t.content}"${owner ? ` of embedding "${owner.name}"` : ''} is already a token of this model's tokenizer; ` +
        'rename the file (the trigger word is its id) so that its word is new, as diffusers requires',
    );
  }
  return tokenizer.withAddedTokens(tokens);
}

/** A warning per embedding whose trigger word appears in neither the prompt nor the negative prompt (it then changes nothing). */
export function unusedTriggerWarnings(refs: readonly EmbeddingRef[], prompt: string, negativePrompt: string | null): string[] {
  return refs
    .filter((r) => !prompt.includes(r.trigger) && !(negativePrompt ?? '').includes(r.trigger))
    .map((r) => `embeddings_model: the trigger word "${r.trigger}" of embedding "${r.name}" is in neither prompt nor negative_prompt, so it changes nothing`);
}
