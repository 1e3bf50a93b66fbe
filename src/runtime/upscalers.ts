import path from 'node:path';
import { entries, isFile, readJson } from './layouts/files.js';

/** The folder under MODELS_DIR that holds super-resolution networks (request `upscale`). */
export const UPSCALERS_DIR = 'upscalers';

/** One installed upscaler: `upscalers/<name>/model.onnx`, with its scale when `config.json` says it (`{"scale": 4}`). */
export interface UpscalerFiles {
  name: string;
  model: string;
  /** The network's own enlargement; null when unknown until it runs (read then from its output/input sizes). */
  scale: number | null;
}

/** The upscalers under `<modelsDir>/upscalers/`, by name (sorted). */
export async function scanUpscalers(modelsDir: string): Promise<Map<string, UpscalerFiles>> {
  const found = new Map<string, UpscalerFiles>();
  for (const entry of await entries(path.join(modelsDir, UPSCALERS_DIR))) {
    if (!entry.dir) continue;
    const dir = path.join(modelsDir, UPSCALERS_DIR, entry.name);
    const model = path.join(dir, 'model.onnx');
    if (!(await isFile(model))) continue;
    const scale = (await readJson(path.join(dir, 'config.json')))?.scale;
    found.set(entry.name, { name: entry.name, model, scale: typeof scale === 'number' && Number.isInteger(scale) && scale >= 1 ? scale : null });
  }
  return found;
}

/**
 * The upscaler for a factor: one whose config says exactly that scale, else one with a larger scale (its result
 * is resized down), else one of unknown scale (checked when it runs); null when none can do it.
 */
export function pickUpscaler(upscalers: ReadonlyMap<string, UpscalerFiles>, factor: number): UpscalerFiles | null {
  const all = [...upscalers.values()];
  return all.find((u) => u.scale === factor) ?? all.find((u) => u.scale !== null && u.scale > factor) ?? all.find((u) => u.scale === null) ?? null;
}
