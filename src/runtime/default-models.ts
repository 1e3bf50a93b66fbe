import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The built-in model set's id (the float32 tiny model; `tiny-sd15-fp16` is its float16 twin). */
export const DEFAULT_MODEL_ID = 'tiny-sd15';

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
