import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ClientError, badRequest } from '../domain/client-error.js';
import { readVae, scanModels, type ModelCatalog } from './catalog.js';
import { parseLora } from '../lora/lora-file.js';
import { parseEmbedding } from '../embeddings/embedding-file.js';
import { readSafetensorsFile } from '../weights/safetensors.js';
import { detectLayout } from './layouts/index.js';

export type ModelKind = 'model' | 'controlnet' | 'vae' | 'lora' | 'embeddings';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const RESERVED = new Set(['controlnet', 'annotators', 'vae', 'aliases.json']);

/** Kinds that are one safetensors file (models/<kind>/<id>.safetensors) rather than a folder. */
const isFileKind = (kind: ModelKind) => kind === 'lora' || kind === 'embeddings';

/** Where each kind lives under the models folder. */
const folderOf = (modelsDir: string, kind: ModelKind, id: string) =>
  kind === 'model' ? path.join(modelsDir, id) : isFileKind(kind) ? path.join(modelsDir, kind, `${id}.safetensors`) : path.join(modelsDir, kind, id);

/**
 * The models folder as the management endpoints change it: models are added by linking a folder that
 * is already on this machine (no downloads here), removed by unlinking (or deleting what the server
 * owns), and the catalog is rescanned after each change.
 */
export class ModelRegistry {
  private current: ModelCatalog;

  private constructor(
    readonly modelsDir: string,
    initial: ModelCatalog,
  ) {
    this.current = initial;
  }

  static async open(modelsDir: string): Promise<ModelRegistry> {
    return new ModelRegistry(modelsDir, await scanModels(modelsDir));
  }

  catalog(): ModelCatalog {
    return this.current;
  }

  async rescan(): Promise<ModelCatalog> {
    this.current = await scanModels(this.modelsDir);
    return this.current;
  }

  /** Where an id of a kind lives, whether or not it exists. */
  folder(kind: ModelKind, id: string): string {
    return folderOf(this.modelsDir, kind, id);
  }

  /**
   * Makes a local folder (or, for ControlNets, a single .onnx file) available under `id`, checking
   * first that it is a model of that kind. Returns the folder it now lives at.
   */
  async link(kind: ModelKind, id: string, source: string): Promise<string> {
    checkId(id);
    const src = localPath(source);
    const stat = await fs.stat(src).catch(() => null);
    if (!stat) throw badRequest(`url: ${src} does not exist on this server`);
    const target = this.folder(kind, id);
    if (await fs.lstat(target).catch(() => null)) {
      throw badRequest(`model_id: "${id}" already exists; delete_model it first`);
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (isFileKind(kind)) {
      if (!stat.isFile() || !src.endsWith('.safetensors')) {
        throw badRequest(
          `url: ${src} is not a .safetensors file (${kind === 'lora' ? 'LoRAs' : 'embeddings'} are read from safetensors only; pickled .pt/.ckpt/.bin files are not loaded, since unpickling runs code)`,
        );
      }
      if (kind === 'lora') checkLora(src);
      else checkEmbedding(src);
      await fs.symlink(src, target);
    } else if (kind === 'controlnet' && stat.isFile()) {
      if (!src.endsWith('.onnx')) throw badRequest(`url: ${src} is not an .onnx file`);
      // A lone graph: link it (and any external-weights file beside it) into a folder of its own.
      await fs.mkdir(target);
      await fs.symlink(src, path.join(target, 'model.onnx'));
      for (const extra of await fs.readdir(path.dirname(src))) {
        if (/\.(onnx_data|pb|bin)$/.test(extra) || extra === 'config.json') {
          await fs.symlink(path.join(path.dirname(src), extra), path.join(target, extra)).catch(() => undefined);
        }
      }
    } else {
      if (!stat.isDirectory()) throw badRequest(`url: ${src} is not a folder`);
      await checkLooksLike(kind, src, this.modelsDir);
      await fs.symlink(src, target, 'dir');
    }
    await this.rescan();
    return target;
  }

  /**
   * Removes a model: a link is unlinked; a folder inside the models folder is deleted. Only what is a
   * model of that kind (a base model folder in a layout the catalog reads, a ControlNet folder with
   * model.onnx, a VAE folder): README.md, aliases.json or any other file or folder is refused.
   */
  async remove(kind: ModelKind, id: string): Promise<string> {
    checkId(id);
    const target = this.folder(kind, id);
    const stat = await fs.lstat(target).catch(() => null);
    if (!stat) throw new ClientError(404, `model_id: no ${kind === 'model' ? 'model' : kind} "${id}"`);
    if (!(await isModelOf(kind, target))) {
      throw badRequest(`model_id: "${id}" is not a ${kind === 'model' ? 'base model' : kind} folder (model_type ${kind}); nothing was deleted`);
    }
    if (stat.isSymbolicLink()) await fs.unlink(target);
    else await fs.rm(target, { recursive: true, force: true });
    await this.rescan();
    return target;
  }

  /** When each entry appeared (the link's or folder's own time). */
  async loadedAt(kind: ModelKind, id: string): Promise<Date | null> {
    const stat = await fs.lstat(this.folder(kind, id)).catch(() => null);
    return stat ? stat.mtime : null;
  }
}

function checkId(id: string) {
  if (!ID.test(id) || RESERVED.has(id)) {
    throw badRequest(`model_id: "${id}" is not a valid id (letters, digits, ".", "_", "-"; not a reserved name)`);
  }
}

/** Accepts absolute paths and file:// URLs; refuses anything that would need a download. */
function localPath(source: string): string {
  if (source.startsWith('file://')) return new URL(source).pathname;
  if (/^[a-z]+:\/\//i.test(source)) {
    throw badRequest(
      `url: this server does not download models (${source.split('/')[2] ?? source}); export them with scripts/export_onnx.py ` +
        "on a machine with the weights and pass the folder's path on this server",
    );
  }
  if (!path.isAbsolute(source)) {
    throw badRequest(`url: give an absolute path to a folder on this server (a Hugging Face id such as "${source}" cannot be downloaded here)`);
  }
  return path.normalize(source);
}

/** Whether `dir` (a link is followed) is a model of this kind, as remove() requires. */
async function isModelOf(kind: ModelKind, dir: string): Promise<boolean> {
  const stat = await fs.stat(dir).catch(() => null);
  if (isFileKind(kind)) return (stat?.isFile() ?? false) && dir.endsWith('.safetensors');
  if (!stat?.isDirectory()) return false;
  if (kind === 'model') return (await detectLayout(dir)) !== null;
  if (kind === 'controlnet') return (await fs.stat(path.join(dir, 'model.onnx')).catch(() => null))?.isFile() ?? false;
  return (await readVae(dir)) !== null;
}

/** A LoRA file must parse and hold at least one low-rank layer this server reads. */
function checkLora(file: string): void {
  let modules = 0;
  try {
    modules = parseLora(readSafetensorsFile(file)).modules.length;
  } catch (err) {
    throw badRequest(`url: ${file} is not a LoRA safetensors file (${(err as Error).message})`);
  }
  if (modules === 0) throw badRequest(`url: ${file} holds no LoRA layer this server reads (kohya lora_down/lora_up or PEFT lora_A/lora_B)`);
}

/** An embedding file must be in one of the layouts embedding-file.ts reads. */
function checkEmbedding(file: string): void {
  try {
    parseEmbedding(readSafetensorsFile(file));
  } catch (err) {
    throw badRequest(`url: ${file} is not a textual-inversion embedding safetensors file (${(err as Error).message})`);
  }
}

async function checkLooksLike(kind: ModelKind, dir: string, modelsDir: string) {
  if (kind === 'model') {
    // Any layout the catalog reads: ours, onnx-web, OnnxStack/Amuse, axodox.
    const layout = await detectLayout(dir);
    const reading = layout ? await layout.read('check', dir, { modelsDir }) : null;
    if (!reading || 'rejected' in reading) {
      const why = reading && 'rejected' in reading ? ` (${reading.rejected})` : '';
      throw badRequest(`url: ${dir} is not a model folder${why}; see docs/model-layouts.md for the layouts this server reads`);
    }
  }
  if (kind === 'controlnet' && !(await fs.stat(path.join(dir, 'model.onnx')).catch(() => null))) {
    throw badRequest(`url: ${dir} has no model.onnx (a ControlNet folder holds model.onnx)`);
  }
  if (kind === 'vae' && !(await readVae(dir))) {
    throw badRequest(`url: ${dir} is not a VAE folder (needs vae_decoder/model.onnx or model.onnx)`);
  }
}
