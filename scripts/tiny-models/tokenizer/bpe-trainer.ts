/**
 * Byte-level BPE training (Sennrich et al.) in CLIP's flavour: every word ends in a symbol carrying the `</w>`
 * suffix, and merges never cross words. Deterministic: the most frequent pair wins, ties go to the pair whose
 * "left right" string sorts first.
 */
import { byteToUnicodeTable } from './bytes-to-unicode.js';

export const END_OF_WORD = '</w>';

/** A word's initial symbols: its UTF-8 bytes as byte-level characters, `</w>` on the last. */
export function wordSymbols(word: string, table = byteToUnicodeTable()): string[] {
  const symbols = Array.from(new TextEncoder().encode(word), (b) => table[b]!);
  symbols[symbols.length - 1] += END_OF_WORD;
  return symbols;
}

/** Learns up to `maxMerges` merges ("left right" strings, in rank order) from word counts. */
export function trainBpe(wordCounts: ReadonlyMap<string, number>, maxMerges: number): string[] {
  const table = byteToUnicodeTable();
  const words = [...wordCounts.keys()].map((w) => wordSymbols(w, table));
  const counts = [...wordCounts.values()];
  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();

  const addPairs = (index: number, sign: 1 | -1) => {
    const symbols = words[index]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = `${symbols[i]} ${symbols[i + 1]}`;
      const count = (pairCounts.get(key) ?? 0) + sign * counts[index]!;
      if (count === 0) pairCounts.delete(key);
      else pairCounts.set(key, count);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(index);
      }
    }
  };
  words.forEach((_, i) => addPairs(i, 1));

  const merges: string[] = [];
  while (merges.length < maxMerges) {
    let best = '';
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (bestCount === 0) break;
    merges.push(best);
    const [left, right] = best.split(' ') as [string, string];
    // Only words holding the pair change; sets may hold stale entries, which simply merge nothing.
    for (const index of [...pairWords.get(best)!].sort((a, b) => a - b)) {
      const symbols = words[index]!;
      addPairs(index, -1);
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(symbols[i]!);
      }
      words[index] = merged;
      addPairs(index, 1);
    }
    pairCounts.delete(best);
    pairWords.delete(best);
  }
  return merges;
}
