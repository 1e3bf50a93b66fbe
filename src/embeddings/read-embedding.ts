/** Reads one installed embedding file; what cannot be read is a 400 naming `embeddings_model` and the id (never the path). */
import { badRequest } from '../domain/client-error.js';
import { readSafetensorsFile, SafetensorsError } from '../weights/safetensors.js';
import { EmbeddingFileError, type ParsedEmbedding, parseEmbedding } from './embedding-file.js';

export function readEmbedding(name: string, path: string): ParsedEmbedding {
  try {
    return parseEmbedding(readSafetensorsFile(path));
  } catch (err) {
    const why = err instanceof SafetensorsError || err instanceof EmbeddingFileError ? err.message : 'the file could not be read';
    throw badRequest(`embeddings_model: embedding "${name}" cannot be used: ${why}`);
  }
}
