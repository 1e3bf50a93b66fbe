/**
 * Tokens added to a tokenizer (textual-inversion trigger words), as transformers' slow `PreTrainedTokenizer` treats
 * them: they are cut out of the raw text before anything else (its `Trie.split`: the leftmost match, the longest
 * there; case-sensitive, before CLIP lower-cases the rest), and the text between them is tokenized as usual. And
 * diffusers' `maybe_convert_prompt`: a multi-vector token `<t>` (added with `<t>_1`, `<t>_2`, …) is replaced in the
 * prompt by `<t> <t>_1 <t>_2 …` before tokenizing.
 */

export interface AddedToken {
  content: string;
  id: number;
}

export interface TextPiece {
  text: string;
  /** The added token's id when this piece is one. */
  id: number | null;
}

/** The text cut at every added token (leftmost match first, the longest one at a position). */
export function splitOnAddedTokens(text: string, added: ReadonlyMap<string, number>): TextPiece[] {
  if (added.size === 0) return text === '' ? [] : [{ text, id: null }];
  const byFirst = new Map<string, string[]>();
  for (const t of added.keys()) {
    if (t === '') continue;
    const list = byFirst.get(t[0]!) ?? [];
    list.push(t);
    byFirst.set(t[0]!, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  const pieces: TextPiece[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const match = byFirst.get(text[i]!)?.find((t) => text.startsWith(t, i));
    if (match === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push({ text: text.slice(start, i), id: null });
    pieces.push({ text: match, id: added.get(match)! });
    i += match.length;
    start = i;
  }
  if (start < text.length) pieces.push({ text: text.slice(start), id: null });
  return pieces;
}

/** diffusers 0.27.2's `_maybe_convert_prompt`: each multi-vector token in the prompt becomes `<t> <t>_1 … <t>_{n-1}`. */
export function expandMultiVector(prompt: string, added: ReadonlyMap<string, number>): string {
  const present = [...new Set(splitOnAddedTokens(prompt, added).flatMap((p) => (p.id === null ? [] : [p.text])))];
  for (const token of present) {
    let replacement = token;
    for (let i = 1; added.has(`${token}_${i}`); i++) replacement += ` ${token}_${i}`;
    if (replacement !== token) prompt = prompt.split(token).join(replacement);
  }
  return prompt;
}
