/** generateModelSets: the folder layout, loadable models, the stamp that skips regeneration, determinism. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateModelSets, STAMP_FILE, type GeneratedSet } from '../../scripts/tiny-models/generate.js';
import { onnx } from '../../src/onnx/onnx.js';
import { CONTROLNET_NAMES } from '../../scripts/tiny-models/sd/config.js';
import { CLIP_TOKENIZER_DIR } from '../helpers/golden.js';
import { ort } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'gen-models-'));
const outA = join(root, 'a');
const outB = join(root, 'b');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Relative path -> sha256 of every file under `dir`. */
function digest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

const BASE_FILES = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/model.onnx',
  'tokenizer/merges.txt',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'unet/model.onnx',
  'vae_decoder/config.json',
  'vae_decoder/model.onnx',
  'vae_encoder/config.json',
  'vae_encoder/model.onnx',
];

let first: GeneratedSet[];
beforeAll(() => {
  first = generateModelSets({ out: outA });
});

describe('generateModelSets (tiny)', () => {
  it('writes the tiny fp32 and fp16 sets in the documented layout', () => {
    expect(first.map((s) => [s.key, s.folder, s.skipped])).toEqual([
      ['tiny/fp32', 'tiny-sd15', false],
      ['tiny/fp16', 'tiny-sd15-fp16', false],
    ]);
    const files = [...digest(outA).keys()].sort();
    const expected = [
      STAMP_FILE,
      ...BASE_FILES.map((f) => `tiny-sd15/${f}`),
      ...BASE_FILES.map((f) => `tiny-sd15-fp16/${f}`),
      ...CONTROLNET_NAMES.map((n) => `controlnet/${n}/model.onnx`),
      ...CONTROLNET_NAMES.map((n) => `tiny-sd15-fp16/controlnet/${n}/model.onnx`),
    ].sort();
    expect(files).toEqual(expected);
  });

  it('writes models onnxruntime loads, with the fp16 set in float16', async () => {
    const paths = first.flatMap((s) => s.files.map((f) => f.path)).filter((p) => p.endsWith('.onnx'));
    expect(paths).toHaveLength(2 * (4 + CONTROLNET_NAMES.length));
    await Promise.all(
      paths.map(async (path) => {
        // Loading validates the graph (types, shapes); optimising it is the slow part and not under test here.
        const s = await ort.InferenceSession.create(join(outA, path), { graphOptimizationLevel: 'disabled' });
        const sample = s.inputMetadata.find((m) => m.name === 'sample' || m.name === 'latent_sample' || m.name === 'input_ids');
        expect(sample?.isTensor, path).toBe(true);
        if (sample?.isTensor && sample.name !== 'input_ids') expect(sample.type, path).toBe(path.includes('-fp16') ? 'float16' : 'float32');
        await s.release();
      }),
    );
  });

  it("sizes the text encoder's embedding to the tokenizer's vocabulary", () => {
    const vocab = JSON.parse(readFileSync(join(outA, 'tiny-sd15/tokenizer/vocab.json'), 'utf8')) as Record<string, number>;
    const model = onnx.ModelProto.decode(readFileSync(join(outA, 'tiny-sd15/text_encoder/model.onnx')));
    const table = model.graph!.initializer!.find((t) => t.name === 'text_model.embeddings.token_embedding.weight')!;
    expect(table.dims!.map(Number)).toEqual([Object.keys(vocab).length, 32]);
  });

  it("writes SD 1.5's scheduler config, the VAE scaling factor and a diffusers model index", () => {
    const json = (path: string) => JSON.parse(readFileSync(join(outA, path), 'utf8')) as Record<string, unknown>;
    expect(json('tiny-sd15/scheduler/scheduler_config.json')).toEqual({
      _class_name: 'PNDMScheduler',
      _diffusers_version: '0.6.0',
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      trained_betas: null,
      clip_sample: false,
    });
    expect(json('tiny-sd15-fp16/vae_decoder/config.json').scaling_factor).toBe(0.18215);
    expect(json('tiny-sd15/model_index.json')).toMatchObject({ unet: ['diffusers', 'OnnxRuntimeModel'], tokenizer: ['transformers', 'CLIPTokenizer'] });
  });

  it('skips sets whose stamp matches, and regenerates byte-identical files when forced', () => {
    const before = digest(outA);
    const mtime = statSync(join(outA, 'tiny-sd15/unet/model.onnx')).mtimeMs;
    const again = generateModelSets({ out: outA });
    expect(again.map((s) => s.skipped)).toEqual([true, true]);
    expect(statSync(join(outA, 'tiny-sd15/unet/model.onnx')).mtimeMs).toBe(mtime);

    const forced = generateModelSets({ out: outA, variants: ['fp16'], force: true });
    expect(forced.map((s) => [s.key, s.skipped])).toEqual([['tiny/fp16', false]]);
    expect(digest(outA)).toEqual(before);
  });

  it('regenerates a set whose files no longer match the stamp', () => {
    writeFileSync(join(outA, 'tiny-sd15/vae_decoder/model.onnx'), 'truncated');
    const result = generateModelSets({ out: outA, variants: ['fp32'] });
    expect(result[0]!.skipped).toBe(false);
    expect(statSync(join(outA, 'tiny-sd15/vae_decoder/model.onnx')).size).toBeGreaterThan(1000);
  });

  it('is deterministic: a second generation elsewhere writes byte-identical files', () => {
    generateModelSets({ out: outB });
    expect(digest(outB)).toEqual(digest(outA));
  });
});

describe('generateModelSets options', () => {
  it('copies a given CLIP vocabulary and sizes the text encoder to it', () => {
    const out = join(root, 'real-vocab');
    const [set] = generateModelSets({ out, variants: ['fp16'], controlnets: ['canny'], tokenizerFrom: CLIP_TOKENIZER_DIR });
    expect(set!.files.map((f) => f.path)).toContain('tiny-sd15-fp16/controlnet/canny/model.onnx');
    expect(readFileSync(join(out, 'tiny-sd15-fp16/tokenizer/merges.txt'))).toEqual(readFileSync(join(CLIP_TOKENIZER_DIR, 'merges.txt')));
    const model = onnx.ModelProto.decode(readFileSync(join(out, 'tiny-sd15-fp16/text_encoder/model.onnx')));
    const table = model.graph!.initializer!.find((t) => t.name === 'text_model.embeddings.token_embedding.weight')!;
    expect(table.dims!.map(Number)).toEqual([49408, 32]);
  });

  it('names what it does not know', () => {
    expect(() => generateModelSets({ out: join(root, 'bad'), controlnets: ['cany'] })).toThrow(/unknown ControlNet name "cany"/);
  });
});
