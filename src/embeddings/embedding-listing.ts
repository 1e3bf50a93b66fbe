/**
 * What `get_all_models` says of an installed embedding: the word that triggers it in a prompt, how many vectors it
 * adds, its layout and the text encoders it serves. An unreadable file lists without them (a request naming it gets
 * the reader's 400).
 */
import { readSafetensorsFile } from '../weights/safetensors.js';
import { parseEmbedding } from './embedding-file.js';

export interface EmbeddingListing {
  trigger_word?: string;
  vectors?: number;
  layout?: string;
  parts?: string[];
}

export function embeddingListing(id: string, path: string): EmbeddingListing {
  try {
    const parsed = parseEmbedding(readSafetensorsFile(path));
    const parts = Object.entries(parsed.parts);
    return {
      trigger_word: parsed.trigger ?? id,
      vectors: Math.max(...parts.map(([, v]) => v.count)),
      layout: parsed.layout,
      parts: parts.map(([name]) => name),
    };
  } catch {
    return {};
  }
}
