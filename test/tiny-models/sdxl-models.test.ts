/**
 * The tiny SDXL generator (scripts/tiny-models/sdxl/): graphs with export_onnx.py's / optimum's SDXL I/O that run
 * in onnxruntime-node, time_ids and text_embeds that change the UNet's output, a ControlNet whose 9 + 1 residuals
 * feed the UNet, and a folder with both tokenizers and SDXL's configs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { TINY_SDXL } from '../../scripts/tiny-models/sdxl/config.js';
import { buildSdxlGraphs, writeTinySdxl } from '../../scripts/tiny-models/sdxl/generate-sdxl.js';
import { generateSdxlSet } from '../../scripts/tiny-models/generate.js';
import { f32, floats, maxAbsDiff, ort, session, wave } from './helpers.js';

const RESIDUALS = [...Array.from({ length: 9 }, (_, i) => `down_block_res_${i}`), 'mid_block_res'];
const hidden = (prefix: string) => Array.from({ length: TINY_SDXL.text.layers + 1 }, (_, i) => `${prefix}.${i}`);

describe('tiny SDXL generator', () => {
  const vocab = builtinTokenizerFiles().vocabSize;
  const graphs = buildSdxlGraphs(TINY_SDXL, vocab);
  const opened: ort.InferenceSession[] = [];
  const open = async (name: string) => {
    const s = await session(graphs[name]!);
    opened.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.release()));
  });

  it('text encoders: hidden states of both, text_embeds from the second', async () => {
    const te = await open('text_encoder');
    expect(te.outputNames).toEqual(['last_hidden_state', 'pooler_output', ...hidden('hidden_states'), ...hidden('normed_hidden_states')]);
    const te2 = await open('text_encoder_2');
    expect(te2.outputNames).toEqual(['text_embeds', 'last_hidden_state', ...hidden('hidden_states'), ...hidden('normed_hidden_states')]);
    const ids = new Int32Array(77).fill(vocab - 1);
    ids[0] = vocab - 2;
    ids[1] = 300;
    const out = await te2.run({ input_ids: new ort.Tensor('int32', ids, [1, 77]) });
    expect(out.text_embeds!.dims).toEqual([1, 32]);
    // hidden_states.N is the last layer before the final norm; normed_hidden_states.N is last_hidden_state.
    expect(maxAbsDiff(floats(out['normed_hidden_states.2']), floats(out.last_hidden_state))).toBe(0);
    expect(maxAbsDiff(floats(out['hidden_states.2']), floats(out.last_hidden_state))).toBeGreaterThan(1e-3);
  });

  it('ControlNet residuals feed the UNet; text_embeds and time_ids are inputs of both and matter', async () => {
    const unet = await open('unet');
    const cn = await open('controlnet/canny');
    expect(unet.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids', ...RESIDUALS]);
    expect(cn.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'controlnet_cond', 'conditioning_scale', 'text_embeds', 'time_ids']);
    expect(cn.outputNames).toEqual(RESIDUALS);
    const [h, w] = [8, 12];
    const base = (timeIds: number[]) => ({
      sample: f32(wave(4 * h * w), [1, 4, h, w]),
      timestep: f32(Float32Array.of(400), [1]),
      encoder_hidden_states: f32(wave(77 * 64, 1), [1, 77, 64]),
      text_embeds: f32(wave(32, 2), [1, 32]),
      time_ids: f32(Float32Array.from(timeIds), [1, 6]),
    });
    const feeds = base([64, 96, 0, 0, 64, 96]);
    const res = await cn.run({ ...feeds, controlnet_cond: f32(wave(3 * 64 * 96, 3), [1, 3, 64, 96]), conditioning_scale: f32(Float32Array.of(1), []) });
    expect(res.down_block_res_8!.dims).toEqual([1, 32, 2, 3]);
    expect(res.mid_block_res!.dims).toEqual([1, 32, 2, 3]);
    const residuals = Object.fromEntries(RESIDUALS.map((n) => [n, res[n]!]));
    const a = await unet.run({ ...feeds, ...residuals });
    const b = await unet.run({ ...base([128, 96, 0, 0, 64, 96]), ...residuals });
    expect(a.out_sample!.dims).toEqual([1, 4, h, w]);
    expect(maxAbsDiff(floats(a.out_sample), floats(b.out_sample))).toBeGreaterThan(1e-4);
  });

  it('writes the folder: tokenizer_2 pads with "!", VAE scaling 0.13025, SDXL scheduler and model index', () => {
    const out = mkdtempSync(join(tmpdir(), 'tiny-sdxl-'));
    try {
      const files = writeTinySdxl(out).map((f) => f.path);
      expect(files).toContain(join('tiny-sdxl', 'controlnet', 'canny', 'model.onnx'));
      expect(files).toContain(join('tiny-sdxl', 'text_encoder_2', 'model.onnx'));
      const read = (p: string) => JSON.parse(readFileSync(join(out, 'tiny-sdxl', p), 'utf8'));
      expect(read('tokenizer_2/tokenizer_config.json').pad_token).toBe('!');
      expect(read('tokenizer/tokenizer_config.json').pad_token).toBe('<|endoftext|>');
      expect(read('vae_decoder/config.json').scaling_factor).toBe(0.13025);
      expect(read('scheduler/scheduler_config.json')._class_name).toBe('EulerDiscreteScheduler');
      expect(read('model_index.json').force_zeros_for_empty_prompt).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('is part of the default sets: generateSdxlSet writes tiny-sdxl with canny and depth, stamped, and skips it next time', () => {
    const out = mkdtempSync(join(tmpdir(), 'tiny-sdxl-set-'));
    try {
      const first = generateSdxlSet({ out });
      expect(first).toMatchObject({ key: 'tiny-sdxl/fp32', folder: 'tiny-sdxl', skipped: false });
      expect(first.files.map((f) => f.path)).toEqual(
        expect.arrayContaining([join('tiny-sdxl', 'controlnet', 'canny', 'model.onnx'), join('tiny-sdxl', 'controlnet', 'depth', 'model.onnx')]),
      );
      expect(JSON.parse(readFileSync(join(out, '.generated.json'), 'utf8')).sets['tiny-sdxl/fp32'].files).toEqual(first.files);
      expect(generateSdxlSet({ out })).toMatchObject({ skipped: true, files: first.files });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
