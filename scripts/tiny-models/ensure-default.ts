import type { ServerConfig } from '../../src/config.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { DEFAULT_MODEL_ID, writeDefaultAliases } from '../../src/runtime/default-models.js';
import { generateModelSets, generateSdxlSet, generateUpscalerSet } from './generate.js';

/**
 * `npm start` on a fresh machine must serve something: when the models folder holds no base model
 * (or holds the tiny set, which may need regenerating after an upgrade), write the tiny built-in
 * models and the built-in upscaler (upscalers/tiny-x2) — deterministic, ~40 MB, under a second. A folder with only real models is left alone.
 */
export async function ensureDefaultModels(
  config: Pick<ServerConfig, 'modelsDir' | 'ensureTinyModels'>,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  if (!config.ensureTinyModels) return false;
  const catalog = await scanModels(config.modelsDir);
  const hasOnlyOthers = catalog.models.size > 0 && !catalog.models.has(DEFAULT_MODEL_ID);
  if (hasOnlyOthers) return false;
  const sets = [
    ...generateModelSets({ out: config.modelsDir, log }),
    generateSdxlSet({ out: config.modelsDir, log }),
    generateUpscalerSet({ out: config.modelsDir, log }),
  ];
  writeDefaultAliases(config.modelsDir);
  return sets.some((s) => !s.skipped);
}
