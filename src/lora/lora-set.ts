/**
 * A request's LoRA set as the worker receives it (plain data) and the cache of merged sessions keys it: the
 * files and strengths in order (order matters: the LoRAs merge one after the other, in float32 roundings).
 */
import { statSync } from 'node:fs';
import type { LoraRef } from '../domain/model-files.js';
import { badRequest } from '../domain/client-error.js';
import { readSafetensorsFile, SafetensorsError } from '../weights/safetensors.js';
import { parseLora, type LoraComponent } from './lora-file.js';
import { LoraMergeError, mergeLoras, type MergedModel } from './merge.js';

export type { LoraRef };

/** The cache key of a graph with this LoRA set merged in ('' for none): files (with their size and time, so a replaced file merges again) and strengths. */
export function loraSetKey(loras: readonly LoraRef[] | undefined): string {
  return (loras ?? [])
    .map((l) => {
      const st = statSync(l.path, { throwIfNoEntry: false });
      return `${l.path}:${st?.size ?? 0}:${st?.mtimeMs ?? 0}@${l.strength}`;
    })
    .join('|');
}

/** Reads the LoRA files and merges those of `component` into the graph at `modelPath`. */
export function mergeLoraSet(modelPath: string, component: LoraComponent, loras: readonly LoraRef[]): MergedModel {
  const parsed = loras.map((l) => {
    try {
      return { name: l.name, strength: l.strength, lora: parseLora(readSafetensorsFile(l.path)) };
    } catch (err) {
      // The reader's own messages name no path; a file that vanished is said so without its path.
      const why = err instanceof SafetensorsError ? err.message : 'the file could not be read';
      throw badRequest(`lora_model: LoRA "${l.name}" cannot be used: ${why}`);
    }
  });
  try {
    return mergeLoras(modelPath, component, parsed);
  } catch (err) {
    if (err instanceof LoraMergeError) throw badRequest(`lora_model: ${err.message}`);
    throw err;
  }
}

/**
 * How many merged variants of one graph stay open besides the plain one: a repeated set costs nothing, and a
 * switch closes the least recently used variant (the memory budget may later own this).
 */
export const MERGED_VARIANTS_PER_GRAPH = 2;
