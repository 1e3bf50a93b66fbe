import path from 'node:path';
import { isFile } from './layouts/files.js';

/** The shared safety checker's folder under MODELS_DIR; a model's own is `<model_id>/safety_checker/`. */
export const SAFETY_CHECKER_DIR = 'safety_checker';

/** An exported safety checker: the CLIP vision tower + projection graph and its concept embeddings. */
export interface SafetyCheckerFiles {
  model: string;
  concepts: string;
}

/** `<dir>/model.onnx` + `<dir>/concepts.json` when both exist. */
export async function readSafetyChecker(dir: string): Promise<SafetyCheckerFiles | null> {
  const model = path.join(dir, 'model.onnx');
  const concepts = path.join(dir, 'concepts.json');
  return (await isFile(model)) && (await isFile(concepts)) ? { model, concepts } : null;
}

/** The shared checker and each model's own (by model id). */
export async function scanSafetyCheckers(
  modelsDir: string,
  modelIds: Iterable<string>,
): Promise<{ shared: SafetyCheckerFiles | null; own: Map<string, SafetyCheckerFiles> }> {
  const own = new Map<string, SafetyCheckerFiles>();
  for (const id of modelIds) {
    const found = await readSafetyChecker(path.join(modelsDir, id, SAFETY_CHECKER_DIR));
    if (found) own.set(id, found);
  }
  return { shared: await readSafetyChecker(path.join(modelsDir, SAFETY_CHECKER_DIR)), own };
}
