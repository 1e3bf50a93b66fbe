/**
 * Assembles BaseModelFiles from the parts every layout has in the same place (text_encoder/, vae_decoder/,
 * vae_encoder/, tokenizer/, scheduler/) once the adapter has said which graph is the ControlNet UNet.
 */
import path from 'node:path';
import { SD15_SCHEDULER_CONFIG } from './sd15-scheduler-config.js';
import type { SchedulerConfig } from '../../schedulers/types.js';
import type { SdxlModelFiles } from '../../domain/index.js';
import { componentModel, isFile, readJson } from './files.js';
import { findTokenizer } from './tokenizer-folder.js';
import type { LayoutContext, LayoutName, LayoutReading } from './types.js';

const DEFAULT_SCALING_FACTOR = 0.18215;

export async function assembleBaseModel(id: string, dir: string, layout: LayoutName, unet: string, ctx: LayoutContext): Promise<LayoutReading> {
  const [textEncoder, vaeDecoder, vaeEncoder, tokenizerDir] = await Promise.all([
    componentModel(dir, 'text_encoder'),
    componentModel(dir, 'vae_decoder'),
    componentModel(dir, 'vae_encoder'),
    findTokenizer(dir, ctx.modelsDir),
  ]);
  if (!textEncoder) return { rejected: 'no text_encoder/model.onnx' };
  if (!vaeDecoder) return { rejected: 'no vae_decoder/model.onnx' };
  if (!tokenizerDir) {
    return { rejected: `no tokenizer (tokenizer/vocab.json + merges.txt or tokenizer.json) in the folder or in ${path.join(ctx.modelsDir, 'tokenizer')}` };
  }
  // OnnxStack and axodox keep the scheduler settings in code: both use SD 1.5's.
  const schedulerConfig = (await readJson(path.join(dir, 'scheduler', 'scheduler_config.json'))) ?? { ...SD15_SCHEDULER_CONFIG };
  const [vaeDecoderConfig, vaeConfig, unetConfig] = await Promise.all([
    readJson(path.join(dir, 'vae_decoder', 'config.json')),
    readJson(path.join(dir, 'vae', 'config.json')),
    readJson(path.join(dir, 'unet', 'config.json')),
  ]);
  const vae = vaeDecoderConfig ?? vaeConfig ?? undefined;
  const sdxl = await readSdxlParts(dir);
  if (typeof sdxl === 'string') return { rejected: sdxl };
  const scaling = typeof vae?.scaling_factor === 'number' ? vae.scaling_factor : DEFAULT_SCALING_FACTOR;
  return {
    model: {
      id,
      dir,
      layout,
      tokenizerDir,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      schedulerConfig: schedulerConfig as SchedulerConfig,
      vaeScalingFactor: scaling,
      configs: { ...(unetConfig ? { unet: unetConfig } : {}), ...(vae ? { vae } : {}) },
      ...(sdxl ? { sdxl } : {}),
    },
  };
}

/**
 * SDXL's second tokenizer and text encoder (optimum's and export_onnx.py's `text_encoder_2/`, `tokenizer_2/`), and
 * model_index.json's force_zeros_for_empty_prompt (diffusers' default: true). Null for a folder without
 * text_encoder_2/; the reason when it has one but no tokenizer_2/.
 */
async function readSdxlParts(dir: string): Promise<SdxlModelFiles | string | null> {
  const textEncoder2 = await componentModel(dir, 'text_encoder_2');
  if (!textEncoder2) return null;
  const tokenizer2Dir = path.join(dir, 'tokenizer_2');
  if (!(await isFile(path.join(tokenizer2Dir, 'tokenizer.json'))) && !(await isFile(path.join(tokenizer2Dir, 'vocab.json')))) {
    return 'text_encoder_2/ (SDXL) without tokenizer_2/ (vocab.json + merges.txt or tokenizer.json)';
  }
  const index = await readJson(path.join(dir, 'model_index.json'));
  const forceZeros = index?.force_zeros_for_empty_prompt;
  return { tokenizer2Dir, textEncoder2, forceZerosForEmptyPrompt: typeof forceZeros === 'boolean' ? forceZeros : true };
}
