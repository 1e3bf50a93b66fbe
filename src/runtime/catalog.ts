import path from 'node:path';
import type { BaseModelFiles } from '../domain/index.js';
import { controlNetsIn } from './layouts/controlnets.js';
import { entries, isFile, readJson } from './layouts/files.js';
import { detectLayout, type LayoutName } from './layouts/index.js';
import { scanUpscalers, type UpscalerFiles } from './upscalers.js';
import { scanSafetyCheckers, type SafetyCheckerFiles } from './safety-checkers.js';

/**
 * What is on disk under the models directory (README "Models", docs/model-layouts.md). Each subfolder is a base
 * model in one of the layouts of ./layouts (ours, onnx-web, OnnxStack/Amuse, axodox/Unpaint), detected from its
 * files. Shared folders:
 *   controlnet/<name>/model.onnx, controlnet/<name>.onnx   ControlNets for every model
 *   control/<name>.onnx, control/<name>/model.onnx         onnx-web's ControlNets (same use)
 *   tokenizer/                                              CLIP tokenizer for model folders without one
 *   vae/<id>/{vae_decoder,vae_encoder}/model.onnx or vae/<id>/model.onnx   custom VAEs (request `vae`)
 *   aliases.json                                            {"hosted id": "<id>"}
 *   lora/<id>.safetensors                                   LoRAs (request `lora_model`)
 *   embeddings/<id>.safetensors                             textual-inversion embeddings (request `embeddings_model`)
 */
export interface VaeFiles {
  decoder: string;
  encoder: string | null;
  scalingFactor: number | null;
}

export interface ModelCatalog {
  models: Map<string, BaseModelFiles>;
  /** Custom VAEs under vae/<id>/ (request field `vae`). */
  vaes: Map<string, VaeFiles>;
  /** ControlNets by name, per model id (a model's own ControlNets replace the shared ones). */
  controlnets: Map<string, Map<string, string>>;
  aliases: Map<string, string>;
  /** Super-resolution networks under upscalers/<name>/ (request `upscale`); absent in catalogs built by hand. */
  upscalers?: Map<string, UpscalerFiles>;
  /** Safety checkers (request `safety_checker`): safety_checker/ for every model, <model_id>/safety_checker/ for one. */
  safetyCheckers?: { shared: SafetyCheckerFiles | null; own: Map<string, SafetyCheckerFiles> };
  /** Folders that look like a model but cannot be used, with the reason (for the start-up log). */
  rejected: RejectedFolder[];
  /** LoRA files under lora/ by id; pickled ones (`.pt`, `.ckpt`, `.bin`) map to null: refused, never unpickled. */
  loras?: Map<string, string | null>;
  /** Textual-inversion embeddings under embeddings/ by id; pickled ones map to null, as LoRAs. */
  embeddings?: Map<string, string | null>;
}

export interface RejectedFolder {
  dir: string;
  layout: LayoutName;
  reason: string;
}

/** Shared folders, never base models. */
const RESERVED = new Set(['controlnet', 'control', 'annotators', 'vae', 'tokenizer', 'lora', 'embeddings', 'upscalers', 'safety_checker']);

/** lora/<id>.safetensors (and the pickled files a user may drop there, to refuse them by name). */
export function scanLoras(modelsDir: string): Promise<Map<string, string | null>> {
  return scanSafetensorsFolder(modelsDir, 'lora');
}

/** embeddings/<id>.safetensors (pickled `.pt`/`.bin` ones too, to refuse them by name). */
export function scanEmbeddings(modelsDir: string): Promise<Map<string, string | null>> {
  return scanSafetensorsFolder(modelsDir, 'embeddings');
}

async function scanSafetensorsFolder(modelsDir: string, folder: string): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  for (const entry of await entries(path.join(modelsDir, folder))) {
    if (!entry.file) continue;
    const m = /^(.+)\.(safetensors|pt|ckpt|bin|pth)$/i.exec(entry.name);
    if (!m || entry.name.startsWith('.')) continue;
    const safe = m[2]!.toLowerCase() === 'safetensors';
    if (safe) found.set(m[1]!, path.join(modelsDir, folder, entry.name));
    else if (!found.has(m[1]!)) found.set(m[1]!, null);
  }
  return found;
}

/** The shared ControlNets: controlnet/ first, then onnx-web's control/ for names not seen yet. */
async function sharedControlNets(modelsDir: string): Promise<Map<string, string>> {
  const shared = await controlNetsIn(path.join(modelsDir, 'controlnet'));
  for (const [name, file] of await controlNetsIn(path.join(modelsDir, 'control'))) if (!shared.has(name)) shared.set(name, file);
  return shared;
}

export async function scanModels(modelsDir: string): Promise<ModelCatalog> {
  const shared = await sharedControlNets(modelsDir);
  const models = new Map<string, BaseModelFiles>();
  const controlnets = new Map<string, Map<string, string>>();
  const rejected: RejectedFolder[] = [];
  for (const entry of await entries(modelsDir)) {
    if (!entry.dir || RESERVED.has(entry.name) || entry.name.startsWith('.')) continue;
    const dir = path.join(modelsDir, entry.name);
    const layout = await detectLayout(dir);
    if (!layout) continue;
    const reading = await layout.read(entry.name, dir, { modelsDir });
    if ('rejected' in reading) {
      rejected.push({ dir, layout: layout.name, reason: reading.rejected });
      continue;
    }
    models.set(entry.name, reading.model);
    const own = new Map<string, string>();
    for (const ownDir of layout.ownControlNetDirs(dir)) for (const [name, file] of await controlNetsIn(ownDir)) if (!own.has(name)) own.set(name, file);
    // A model folder with its own ControlNets uses only those: shared ones were exported for another base model
    // (widths, dtype) and would not fit.
    controlnets.set(entry.name, own.size > 0 ? own : shared);
  }
  const vaes = new Map<string, VaeFiles>();
  for (const entry of await entries(path.join(modelsDir, 'vae'))) {
    if (!entry.dir) continue;
    const id = entry.name;
    const vae = await readVae(path.join(modelsDir, 'vae', id));
    if (vae) vaes.set(id, vae);
  }
  const aliases = new Map<string, string>();
  const aliasFile = await readJson(path.join(modelsDir, 'aliases.json'));
  for (const [alias, target] of Object.entries(aliasFile ?? {})) {
    if (typeof target === 'string' && models.has(target)) aliases.set(alias, target);
  }
  const safetyCheckers = await scanSafetyCheckers(modelsDir, models.keys());
  return {
    models,
    vaes,
    controlnets,
    aliases,
    rejected,
    loras: await scanLoras(modelsDir),
    embeddings: await scanEmbeddings(modelsDir),
    upscalers: await scanUpscalers(modelsDir),
    safetyCheckers,
  };
}

/** A VAE folder: vae_decoder/ (+ vae_encoder/) as in a model folder, or a lone decoder model.onnx. */
export async function readVae(dir: string): Promise<VaeFiles | null> {
  const nested = path.join(dir, 'vae_decoder', 'model.onnx');
  const flat = path.join(dir, 'model.onnx');
  const decoder = (await isFile(nested)) ? nested : (await isFile(flat)) ? flat : null;
  if (!decoder) return null;
  const encoderFile = path.join(dir, 'vae_encoder', 'model.onnx');
  const config = (await readJson(path.join(path.dirname(decoder), 'config.json'))) ?? (await readJson(path.join(dir, 'config.json'))) ?? {};
  return {
    decoder,
    encoder: (await isFile(encoderFile)) ? encoderFile : null,
    scalingFactor: typeof config.scaling_factor === 'number' ? config.scaling_factor : null,
  };
}
