/**
 * SDXL folders in each layout the catalog reads: ours/optimum's names (text_encoder_2/, tokenizer_2/ padding with
 * "!", a UNet taking text_embeds and time_ids), onnx-web's cnet/, OnnxStack's controlnet/model.onnx. Each is read
 * as SDXL (second encoder, force_zeros_for_empty_prompt from model_index.json) and described as the sdxl family.
 */
import { cpSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinySdxl } from '../../scripts/tiny-models/sdxl/generate-sdxl.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { scanModels } from '../../src/runtime/catalog.js';

const root = mkdtempSync(path.join(tmpdir(), 'sdxl-layouts-'));
const sessions = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });

beforeAll(() => {
  writeTinySdxl(root);
  const ours = path.join(root, 'tiny-sdxl');
  // onnx-web: cnet/ is the ControlNet UNet.
  const web = path.join(root, 'web-sdxl');
  cpSync(ours, web, { recursive: true });
  cpSync(path.join(web, 'unet'), path.join(web, 'cnet'), { recursive: true });
  // OnnxStack: controlnet/model.onnx is the ControlNet UNet, no scheduler/ and no model_index.json.
  const stack = path.join(root, 'stack-sdxl');
  cpSync(ours, stack, { recursive: true });
  rmSync(path.join(stack, 'controlnet'), { recursive: true });
  renameSync(path.join(stack, 'unet'), path.join(stack, 'controlnet'));
  rmSync(path.join(stack, 'scheduler'), { recursive: true });
  unlinkSync(path.join(stack, 'model_index.json'));
  // A second encoder without its tokenizer: rejected with the reason.
  const broken = path.join(root, 'broken-sdxl');
  cpSync(ours, broken, { recursive: true });
  rmSync(path.join(broken, 'tokenizer_2'), { recursive: true });
  const noZeros = path.join(root, 'nozeros-sdxl');
  cpSync(ours, noZeros, { recursive: true });
  writeFileSync(path.join(noZeros, 'model_index.json'), JSON.stringify({ force_zeros_for_empty_prompt: false }));
});
afterAll(async () => {
  await sessions.release();
  rmSync(root, { recursive: true, force: true });
});

describe('SDXL folders', () => {
  it("are read as SDXL in our, onnx-web's and OnnxStack's layouts, and described as the sdxl family", async () => {
    const catalog = await scanModels(root);
    const layouts = Object.fromEntries([...catalog.models].map(([id, m]) => [id, m.layout]));
    expect(layouts).toEqual({ 'tiny-sdxl': 'native', 'web-sdxl': 'onnx-web', 'stack-sdxl': 'onnxstack', 'nozeros-sdxl': 'native' });
    for (const [id, model] of catalog.models) {
      expect(model.sdxl, id).toMatchObject({
        textEncoder2: path.join(root, id, 'text_encoder_2', 'model.onnx'),
        tokenizer2Dir: path.join(root, id, 'tokenizer_2'),
        forceZerosForEmptyPrompt: id !== 'nozeros-sdxl',
      });
      const d = await sessions.describe(model);
      expect(d, id).toMatchObject({
        family: 'sdxl',
        hiddenSize: 64,
        scalingFactor: 0.13025,
        addedConditions: { textEmbeds: 'text_embeds', timeIds: 'time_ids' },
      });
      expect(d.residuals, id).toHaveLength(10);
    }
    expect(catalog.rejected.map((r) => [path.basename(r.dir), r.reason])).toEqual([
      ['broken-sdxl', 'text_encoder_2/ (SDXL) without tokenizer_2/ (vocab.json + merges.txt or tokenizer.json)'],
    ]);
  });
});
