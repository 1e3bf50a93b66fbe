import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateModelSets } from '../onnx-builder/generate.js';
import type { ServerConfig } from '../config.js';
import { scanModels } from './catalog.js';

/** The built-in model set's id (the float32 tiny model; `tiny-sd15-fp16` is its float16 twin). */
export const DEFAULT_MODEL_ID = 'tiny-sd15';

/**
 * `npm start` on a fresh machine must serve something: when the models folder holds no base model
 * (or holds the tiny set, which may need regenerating after an upgrade), write the tiny built-in
 * models — deterministic, ~40 MB, under a second. A folder with only real models is left alone.
 */
export async function ensureDefaultModels(config: Pick<ServerConfig, 'modelsDir' | 'ensureTinyModels'>, log: (line: string) => void = () => {}): Promise<boolean> {
  if (!config.ensureTinyModels) return false;
  const catalog = await scanModels(config.modelsDir);
  const hasOnlyOthers = catalog.models.size > 0 && !catalog.models.has(DEFAULT_MODEL_ID);
  if (hasOnlyOthers) return false;
  const sets = generateModelSets({ out: config.modelsDir, log });
  writeDefaultAliases(config.modelsDir);
  return sets.some((s) => !s.skipped);
}

/**
 * The hosted API's docs use model ids such as "midjourney"; next to the built-in set, map them to it so
 * the docs' examples run as written. Responses say so (a warning, and meta.model). Never overwrites a
 * user's aliases.json.
 */
export function writeDefaultAliases(modelsDir: string): void {
  const file = path.join(modelsDir, 'aliases.json');
  if (existsSync(file)) return;
  writeFileSync(file, `${JSON.stringify({ midjourney: DEFAULT_MODEL_ID }, null, 2)}\n`);
}
