import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BaseModelFiles } from '../pipeline/spec.js';

/**
 * What is on disk under the models directory (see README "Models"):
 *   <id>/{tokenizer,text_encoder,unet,vae_decoder,vae_encoder,scheduler}/   a base model
 *   <id>/controlnet/<name>/model.onnx                                      ControlNets for that model only
 *   controlnet/<name>/model.onnx                                           ControlNets for every model
 *   vae/<id>/{vae_decoder,vae_encoder}/model.onnx or vae/<id>/model.onnx     custom VAEs
 *   aliases.json                                                            {"hosted id": "<id>"}
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
  /** ControlNets by name, per model id (global ones merged with the model's own, which win). */
  controlnets: Map<string, Map<string, string>>;
  aliases: Map<string, string>;
}

const RESERVED = new Set(['controlnet', 'annotators', 'vae']);
const DEFAULT_SCALING_FACTOR = 0.18215;

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function readJson(p: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await fs.readFile(p, 'utf8'));
  } catch {
    return null;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** ControlNet graphs in `dir`: each subfolder holding a model.onnx. */
async function controlNetsIn(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const name of await subdirs(dir)) {
    const file = path.join(dir, name, 'model.onnx');
    if (await exists(file)) found.set(name, file);
  }
  return found;
}

/** Reads a base model folder in our (diffusers-ONNX) layout; null when `dir` is not one. */
export async function readBaseModel(id: string, dir: string): Promise<BaseModelFiles | null> {
  const file = (part: string) => path.join(dir, part, 'model.onnx');
  const required = [file('text_encoder'), file('unet'), file('vae_decoder')];
  if (!(await Promise.all(required.map(exists))).every(Boolean)) return null;
  const schedulerConfig = await readJson(path.join(dir, 'scheduler', 'scheduler_config.json'));
  if (!schedulerConfig) return null;
  const vaeConfig = (await readJson(path.join(dir, 'vae_decoder', 'config.json'))) ?? {};
  const scaling = typeof vaeConfig.scaling_factor === 'number' ? vaeConfig.scaling_factor : DEFAULT_SCALING_FACTOR;
  return {
    id,
    dir,
    tokenizerDir: path.join(dir, 'tokenizer'),
    textEncoder: file('text_encoder'),
    unet: file('unet'),
    vaeDecoder: file('vae_decoder'),
    vaeEncoder: (await exists(file('vae_encoder'))) ? file('vae_encoder') : null,
    schedulerConfig,
    vaeScalingFactor: scaling,
  };
}

export async function scanModels(modelsDir: string): Promise<ModelCatalog> {
  const global = await controlNetsIn(path.join(modelsDir, 'controlnet'));
  const models = new Map<string, BaseModelFiles>();
  const controlnets = new Map<string, Map<string, string>>();
  for (const id of await subdirs(modelsDir)) {
    if (RESERVED.has(id) || id.startsWith('.')) continue;
    const model = await readBaseModel(id, path.join(modelsDir, id));
    if (!model) continue;
    models.set(id, model);
    const own = await controlNetsIn(path.join(model.dir, 'controlnet'));
    // A model folder with its own ControlNets uses only those: global ones were exported for
    // another base model (widths, dtype) and would not fit.
    controlnets.set(id, own.size > 0 ? own : global);
  }
  const vaes = new Map<string, VaeFiles>();
  for (const id of await subdirs(path.join(modelsDir, 'vae'))) {
    const vae = await readVae(path.join(modelsDir, 'vae', id));
    if (vae) vaes.set(id, vae);
  }
  const aliases = new Map<string, string>();
  const aliasFile = await readJson(path.join(modelsDir, 'aliases.json'));
  for (const [alias, target] of Object.entries(aliasFile ?? {})) {
    if (typeof target === 'string' && models.has(target)) aliases.set(alias, target);
  }
  return { models, vaes, controlnets, aliases };
}

/** A VAE folder: vae_decoder/ (+ vae_encoder/) as in a model folder, or a lone decoder model.onnx. */
export async function readVae(dir: string): Promise<VaeFiles | null> {
  const nested = path.join(dir, 'vae_decoder', 'model.onnx');
  const flat = path.join(dir, 'model.onnx');
  const decoder = (await exists(nested)) ? nested : (await exists(flat)) ? flat : null;
  if (!decoder) return null;
  const encoderFile = path.join(dir, 'vae_encoder', 'model.onnx');
  const config = (await readJson(path.join(path.dirname(decoder), 'config.json'))) ?? (await readJson(path.join(dir, 'config.json'))) ?? {};
  return {
    decoder,
    encoder: (await exists(encoderFile)) ? encoderFile : null,
    scalingFactor: typeof config.scaling_factor === 'number' ? config.scaling_factor : null,
  };
}
