/**
 * Tiny model folders laid out, named and typed the way other tools export them (see docs/model-layouts.md), so the
 * runtime's layout detection and I/O matching run against them in tests:
 *
 *   onnx-web   <out>/diffusion-tiny/{unet (plain), cnet (ControlNet UNet), ...}, ControlNets <out>/control/<name>.onnx:
 *              no conditioning_scale input, only the first two outputs named (and misleadingly), float32 I/O.
 *   onnxstack  <out>/tiny-amuse/{unet (plain), controlnet/model.onnx (ControlNet UNet), ...} without scheduler/,
 *              ControlNets <out>/controlnet/<Name>/model.onnx: float16 I/O, float16 [batch] timestep, float64 [1]
 *              conditioning_scale, outputs down_block_<i>_additional_residual.
 *   axodox     <out>/tiny-unpaint/{unpaint.json, unet (plain), controlnet/model.onnx, ...} without tokenizer/ and
 *              scheduler/, float16 I/O throughout; ControlNets <out>/controlnet/<name>.onnx like OnnxStack's.
 *
 * The weights are the tiny set's (same seeds): only the interface differs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphBuilder } from '../../src/onnx/graph.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { renameValue, retypeInput } from './retarget.js';
import { buildTextEncoder } from './sd/clip-text-encoder.js';
import { jsonFile, modelIndex, SD15_SCHEDULER_CONFIG, vaeConfig } from './sd/component-configs.js';
import { CONTROLNET_NAMES, TINY, type ControlNetName } from './sd/config.js';
import { buildControlNet } from './sd/controlnet.js';
import { BATCH } from './sd/dims.js';
import { FP16_FORMAT, FP32_FORMAT, type ExportFormat } from './sd/formats.js';
import { buildUNet, MID_RESIDUAL_NAME, residualInputName } from './sd/unet.js';
import { buildVaeDecoder } from './sd/vae-decoder.js';
import { buildVaeEncoder } from './sd/vae-encoder.js';
import { builtinTokenizerFiles } from './tokenizer/clip-tokenizer-files.js';

export const TOOL_LAYOUTS = ['onnx-web', 'onnxstack', 'axodox'] as const;
export type ToolLayout = (typeof TOOL_LAYOUTS)[number];

export interface WrittenToolLayout {
  tool: ToolLayout;
  /** The base model folder. */
  modelDir: string;
  /** ControlNet name (as the tool names the file or folder) -> model file. */
  controlnets: Map<string, string>;
}

const RESIDUALS = 13;
const set = TINY;

/** OnnxStack's and axodox's names for the 13 residuals. */
const additionalResidualName = (i: number) => (i < RESIDUALS - 1 ? `down_block_${i}_additional_residual` : 'mid_block_additional_residual');
/** Ours, which every generated graph starts from. */
const ourResidualName = (i: number) => (i < RESIDUALS - 1 ? residualInputName(i) : MID_RESIDUAL_NAME);

function renameResiduals(g: GraphBuilder, name: (i: number) => string): void {
  for (let i = 0; i < RESIDUALS; i++) renameValue(g, ourResidualName(i), name(i));
}

/** Half I/O as Olive writes it: float16 inputs and outputs, int32 input_ids, a float16 [batch] timestep. */
const OLIVE_FP16: ExportFormat = { ...FP16_FORMAT, inputIds: 'int32', timestep: { dtype: 'float32', rank: 1 }, conditioningScale: false };

function controlNetSeed(name: ControlNetName): number {
  return set.seeds.controlnet + CONTROLNET_NAMES.indexOf(name);
}

function write(path: string, g: GraphBuilder): string {
  saveModel(g, path, { producerVersion: 'tool-layout', docString: `${set.name} ${g.name} (other tool's layout)` });
  return path;
}

function text(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents);
}

function tokenizer(dir: string, skip: readonly string[] = []): number {
  const files = builtinTokenizerFiles();
  for (const [name, contents] of Object.entries(files.files)) if (!skip.includes(name)) text(join(dir, name), contents);
  return files.vocabSize;
}

/** The parts every layout shares: text encoder, plain UNet, VAE. */
function writeBase(dir: string, format: ExportFormat, vocabSize: number): void {
  write(join(dir, 'text_encoder', 'model.onnx'), buildTextEncoder(set, format, vocabSize));
  write(join(dir, 'unet', 'model.onnx'), buildUNet(set, format, { residualInputs: false }));
  write(join(dir, 'vae_decoder', 'model.onnx'), buildVaeDecoder(set, format));
  write(join(dir, 'vae_encoder', 'model.onnx'), buildVaeEncoder(set, format));
}

function writeOnnxWeb(out: string, names: readonly ControlNetName[]): WrittenToolLayout {
  const modelDir = join(out, 'diffusion-tiny');
  const vocabSize = tokenizer(join(modelDir, 'tokenizer'));
  writeBase(modelDir, FP32_FORMAT, vocabSize);
  const cnet = buildUNet(set, FP32_FORMAT);
  renameResiduals(cnet, (i) => (i < RESIDUALS - 1 ? `down_block_${i}` : 'mid_block_additional_residual'));
  write(join(modelDir, 'cnet', 'model.onnx'), cnet);
  text(join(modelDir, 'scheduler', 'scheduler_config.json'), jsonFile(SD15_SCHEDULER_CONFIG));
  text(join(modelDir, 'vae_decoder', 'config.json'), jsonFile(vaeConfig(set)));
  text(join(modelDir, 'model_index.json'), jsonFile(modelIndex()));

  const controlnets = new Map<string, string>();
  const format: ExportFormat = { ...FP32_FORMAT, conditioningScale: false };
  for (const name of names) {
    const g = buildControlNet(set, format, { seed: controlNetSeed(name) });
    // torch.onnx.export was given two output names for thirteen outputs: the rest keep traced value names.
    renameResiduals(g, (i) => ['down_block_res_samples', 'mid_block_res_sample'][i] ?? `/controlnet_down_blocks.${i}/Conv_output_0`);
    controlnets.set(name, write(join(out, 'control', `${name}.onnx`), g));
  }
  return { tool: 'onnx-web', modelDir, controlnets };
}

/** A ControlNet with OnnxStack's interface (axodox binds the same names): half I/O, double scale. */
function onnxStackControlNet(name: ControlNetName): GraphBuilder {
  const g = buildControlNet(set, { ...OLIVE_FP16, conditioningScale: true }, { seed: controlNetSeed(name) });
  retypeInput(g, 'timestep', 'float16', [BATCH]);
  retypeInput(g, 'conditioning_scale', 'float64', [1]);
  renameResiduals(g, additionalResidualName);
  return g;
}

function writeOnnxStack(out: string, names: readonly ControlNetName[]): WrittenToolLayout {
  const modelDir = join(out, 'tiny-amuse');
  const vocabSize = tokenizer(join(modelDir, 'tokenizer'), ['tokenizer_config.json']);
  writeBase(modelDir, FP32_FORMAT, vocabSize);
  const unet = buildUNet(set, FP32_FORMAT);
  renameResiduals(unet, additionalResidualName);
  write(join(modelDir, 'controlnet', 'model.onnx'), unet);

  const controlnets = new Map<string, string>();
  for (const name of names) {
    const folder = name.charAt(0).toUpperCase() + name.slice(1);
    controlnets.set(folder, write(join(out, 'controlnet', folder, 'model.onnx'), onnxStackControlNet(name)));
  }
  return { tool: 'onnxstack', modelDir, controlnets };
}

function writeAxodox(out: string, names: readonly ControlNetName[]): WrittenToolLayout {
  const modelDir = join(out, 'tiny-unpaint');
  text(join(modelDir, 'unpaint.json'), jsonFile({ Id: 'tiny-unpaint', Name: 'Tiny (axodox layout)', Website: '', AccessToken: '' }));
  writeBase(modelDir, OLIVE_FP16, builtinTokenizerFiles().vocabSize);
  const unet = buildUNet(set, OLIVE_FP16);
  retypeInput(unet, 'timestep', 'float16', [BATCH]);
  renameResiduals(unet, additionalResidualName);
  write(join(modelDir, 'controlnet', 'model.onnx'), unet);

  const controlnets = new Map<string, string>();
  for (const name of names) controlnets.set(name, write(join(out, 'controlnet', `${name}.onnx`), onnxStackControlNet(name)));
  return { tool: 'axodox', modelDir, controlnets };
}

/** Writes a tiny base model and ControlNets under `out` the way `tool` lays them out. */
export function writeToolLayout(out: string, tool: ToolLayout, controlnets: readonly ControlNetName[] = ['canny', 'depth']): WrittenToolLayout {
  switch (tool) {
    case 'onnx-web':
      return writeOnnxWeb(out, controlnets);
    case 'onnxstack':
      return writeOnnxStack(out, controlnets);
    case 'axodox':
      return writeAxodox(out, controlnets);
  }
}
