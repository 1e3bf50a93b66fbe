/**
 * Writes the tiny SDXL set (fp32): `<out>/tiny-sdxl/` with tokenizer/, tokenizer_2/ (pads with "!"),
 * text_encoder/ (CLIPTextModel), text_encoder_2/ (CLIPTextModelWithProjection: text_embeds), unet/ (text_embeds
 * and time_ids inputs, 9 + 1 residual inputs), vae_decoder/, vae_encoder/, scheduler/, model_index.json and its
 * ControlNet in `tiny-sdxl/controlnet/canny/` (SDXL ControlNets fit SDXL UNets only). The graph names and I/O
 * are those of scripts/export_onnx.py and optimum. generate.ts's generateSdxlSet writes it beside the SD sets (stamped).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { saveModel } from '../../../src/onnx/model-file.js';
import { buildTextEncoder } from '../sd/clip-text-encoder.js';
import { jsonFile } from '../sd/component-configs.js';
import { buildControlNet } from '../sd/controlnet.js';
import { FP32_FORMAT } from '../sd/formats.js';
import { buildUNet } from '../sd/unet.js';
import { buildVaeDecoder } from '../sd/vae-decoder.js';
import { buildVaeEncoder } from '../sd/vae-encoder.js';
import { builtinTokenizerFiles } from '../tokenizer/clip-tokenizer-files.js';
import { SDXL_SCHEDULER_CONFIG, sdxlModelIndex, sdxlVaeConfig } from './component-configs.js';
import { TEXT2_SEED_OFFSET, TINY_SDXL, type SdxlSetConfig } from './config.js';
import { textTimeConditioning } from './text-time.js';

export interface SdxlFile {
  /** Relative to `out`. */
  path: string;
  bytes: number;
}

/** The five graphs of the set, by folder (tests build them in memory). */
export function buildSdxlGraphs(set: SdxlSetConfig, vocabSize: number): Record<string, GraphBuilder> {
  const format = FP32_FORMAT;
  const added = textTimeConditioning(set.addition);
  return {
    text_encoder: buildTextEncoder(set, format, vocabSize, { hiddenStates: true }),
    text_encoder_2: buildTextEncoder(set, format, vocabSize, {
      text: set.text2,
      hiddenAct: 'gelu',
      projectionDim: set.text2.projectionDim,
      hiddenStates: true,
      graphName: 'text_encoder_2',
      seed: set.seeds.text + TEXT2_SEED_OFFSET,
    }),
    unet: buildUNet(set, format, { addedConditioning: added }),
    vae_decoder: buildVaeDecoder(set, format),
    vae_encoder: buildVaeEncoder(set, format),
    ...Object.fromEntries(
      set.controlnets.map((name, i) => [`controlnet/${name}`, buildControlNet(set, format, { seed: set.seeds.controlnet + i, addedConditioning: added })]),
    ),
  };
}

export function writeTinySdxl(out: string, set: SdxlSetConfig = TINY_SDXL): SdxlFile[] {
  const base = join(out, set.baseName);
  const files: SdxlFile[] = [];
  const text = (path: string, contents: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents);
    files.push({ path: relative(out, path), bytes: Buffer.byteLength(contents) });
  };
  const tokenizer = builtinTokenizerFiles();
  for (const [name, contents] of Object.entries(tokenizer.files)) {
    text(join(base, 'tokenizer', name), contents);
    const second = name === 'tokenizer_config.json' ? jsonFile({ ...JSON.parse(contents), pad_token: set.pad2 }) : contents;
    text(join(base, 'tokenizer_2', name), second);
  }
  for (const [folder, graph] of Object.entries(buildSdxlGraphs(set, tokenizer.vocabSize))) {
    const path = join(base, folder, 'model.onnx');
    const saved = saveModel(graph, path, { producerVersion: 'tiny-sdxl/1', docString: `tiny sdxl fp32 ${graph.name}` });
    files.push({ path: relative(out, path), bytes: saved.modelBytes });
  }
  const vae = jsonFile(sdxlVaeConfig(set));
  text(join(base, 'vae_decoder', 'config.json'), vae);
  text(join(base, 'vae_encoder', 'config.json'), vae);
  text(join(base, 'scheduler', 'scheduler_config.json'), jsonFile(SDXL_SCHEDULER_CONFIG));
  text(join(base, 'model_index.json'), jsonFile(sdxlModelIndex()));
  return files;
}
