/**
 * Where a base model's CLIP tokenizer lives. SD 1.x models all share CLIP ViT-L/14's vocabulary, and some tools keep
 * it outside the model folder (axodox/Unpaint ship it with the app), so a folder without one may use the models
 * directory's shared `tokenizer/`.
 */
import path from 'node:path';
import { isFile } from './files.js';

/** Files that make a folder a usable tokenizer, in the order ClipTokenizer tries them. */
async function holdsTokenizer(dir: string): Promise<boolean> {
  if (await isFile(path.join(dir, 'tokenizer.json'))) return true;
  if ((await isFile(path.join(dir, 'vocab.json'))) && (await isFile(path.join(dir, 'merges.txt')))) return true;
  // OnnxStack/Amuse's older folders: an onnxruntime-extensions CLIPTokenizer graph carrying vocab and merges.
  return isFile(path.join(dir, 'model.onnx'));
}

/** The model's own `tokenizer/`, else `<modelsDir>/tokenizer/`, else null. */
export async function findTokenizer(modelDir: string, modelsDir: string): Promise<string | null> {
  for (const dir of [path.join(modelDir, 'tokenizer'), path.join(modelsDir, 'tokenizer')]) {
    if (await holdsTokenizer(dir)) return dir;
  }
  return null;
}
