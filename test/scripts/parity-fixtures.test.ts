/**
 * The parity fixtures (test/fixtures/parity/, made by scripts/reference/make-parity.py from tiny random diffusers
 * folders through scripts/export_onnx.py; sd2-tiny is an SD 2.x-style sd folder): the exported graphs open in onnxruntime-node with the I/O the export
 * promises, a ControlNet's residuals fit its UNet, and the server's CLIP tokenizer plus the exported text
 * encoders give diffusers' prompt embeddings for every case (ids exact, embeddings within 1e-4).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer.js';
import { readNpyFloat32 } from '../helpers/npy.js';

const PARITY = join(import.meta.dirname, '..', 'fixtures', 'parity');

interface ParityCase {
  name: string;
  request: Record<string, unknown>;
  token_ids: Record<string, number[]>;
  debug: Record<string, string>;
  expected: string[];
}

type Family = 'sd' | 'sd2' | 'sdxl';

interface Fixture {
  family: Family;
  dir: string;
  modelDir: string;
  controlnetDirs: string[];
  cases: ParityCase[];
}

function loadFixture(family: Family): Fixture {
  const dir = join(PARITY, `${family}-tiny`);
  const doc = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { model_id: string; cases: ParityCase[] };
  const modelDir = join(dir, 'models', doc.model_id);
  const names = family === 'sd' ? ['canny', 'depth'] : ['canny'];
  // SD ControlNets are shared (models/controlnet/), the SDXL one belongs to its model (models/<id>/controlnet/).
  const cnRoot = family !== 'sdxl' ? join(dir, 'models', 'controlnet') : join(modelDir, 'controlnet');
  return { family, dir, modelDir, controlnetDirs: names.map((n) => join(cnRoot, n)), cases: doc.cases };
}

const sessions: ort.InferenceSession[] = [];
async function open(folder: string): Promise<ort.InferenceSession> {
  const s = await ort.InferenceSession.create(join(folder, 'model.onnx'), { intraOpNumThreads: 1 });
  sessions.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

function shapeOf(session: ort.InferenceSession, name: string, output = false): ReadonlyArray<number | string> {
  const meta = (output ? session.outputMetadata : session.inputMetadata).find((m) => m.name === name);
  if (!meta || !meta.isTensor) throw new Error(`no tensor ${name}`);
  return meta.shape;
}

/** Seeded values in [-1, 1) (a tiny LCG; the graphs only need varied inputs). */
function filled(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 31 - 1;
  }
  return out;
}

function f32(dims: number[], seed: number): ort.Tensor {
  return new ort.Tensor(
    'float32',
    filled(
      dims.reduce((a, b) => a * b, 1),
      seed,
    ),
    dims,
  );
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const RESIDUALS = [...Array.from({ length: 6 }, (_, i) => `down_block_res_${i}`), 'mid_block_res'];
const LAYERS = 5;
const hidden = (prefix: string) => Array.from({ length: LAYERS + 1 }, (_, i) => `${prefix}.${i}`);

for (const family of ['sd', 'sd2', 'sdxl'] as const) {
  const present = existsSync(join(PARITY, `${family}-tiny`, 'cases.json'));
  describe.skipIf(!present)(`parity fixture ${family}-tiny`, () => {
    const fx = present ? loadFixture(family) : (undefined as unknown as Fixture);
    const sdxl = family === 'sdxl';
    const added = sdxl ? ['text_embeds', 'time_ids'] : [];

    it('has the exported folders, configs and expected images of every case', () => {
      const folders = ['unet', 'vae_decoder', 'vae_encoder', 'text_encoder', 'tokenizer', 'scheduler'];
      if (sdxl) folders.push('text_encoder_2', 'tokenizer_2');
      for (const f of folders) expect(existsSync(join(fx.modelDir, f)), f).toBe(true);
      const index = JSON.parse(readFileSync(join(fx.modelDir, 'model_index.json'), 'utf8'));
      expect(index._export.family).toBe(sdxl ? 'sdxl' : 'sd');
      expect(index._export.unet_residual_inputs).toBe(7);
      if (sdxl) expect(index.force_zeros_for_empty_prompt).toBe(true);
      const vae = JSON.parse(readFileSync(join(fx.modelDir, 'vae_decoder', 'config.json'), 'utf8'));
      expect(vae.scaling_factor).toBe(sdxl ? 0.13025 : 0.18215);
      const tok2 = sdxl ? JSON.parse(readFileSync(join(fx.modelDir, 'tokenizer_2', 'tokenizer_config.json'), 'utf8')) : null;
      if (tok2) expect(tok2.pad_token).toBe('!');
      if (family === 'sd2') {
        // SD 2.x: v-prediction from the scheduler config, and the tokenizer pads with "!".
        const scheduler = JSON.parse(readFileSync(join(fx.modelDir, 'scheduler', 'scheduler_config.json'), 'utf8'));
        expect(scheduler.prediction_type).toBe('v_prediction');
        const tok = JSON.parse(readFileSync(join(fx.modelDir, 'tokenizer', 'tokenizer_config.json'), 'utf8'));
        expect(tok.pad_token).toBe('!');
      }
      expect(fx.cases.length).toBeGreaterThan(5);
      for (const c of fx.cases) {
        expect(c.request.model_id).toBe(`${family}-tiny`);
        for (const png of c.expected) expect(existsSync(join(fx.dir, png)), png).toBe(true);
      }
    });

    it('graphs open with the input and output names and shapes of the export', async () => {
      const unet = await open(join(fx.modelDir, 'unet'));
      expect(unet.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', ...added, ...RESIDUALS]);
      expect(unet.outputNames).toEqual(['out_sample']);
      expect(shapeOf(unet, 'sample')).toEqual(['batch', 4, 'height', 'width']);
      expect(shapeOf(unet, 'encoder_hidden_states')).toEqual(['batch', 'sequence', sdxl ? 64 : 32]);
      if (sdxl) {
        expect(shapeOf(unet, 'text_embeds')).toEqual(['batch', 32]);
        expect(shapeOf(unet, 'time_ids')).toEqual(['batch', 6]);
      }
      expect(shapeOf(unet, 'down_block_res_0')).toEqual(['batch', 4, 'height', 'width']);
      expect(shapeOf(unet, 'down_block_res_3')).toEqual(['batch', 4, 'height_div2', 'width_div2']);
      expect(shapeOf(unet, 'mid_block_res')).toEqual(['batch', 8, 'height_div2', 'width_div2']);
      for (const dir of fx.controlnetDirs) {
        const cn = await open(dir);
        expect(cn.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'controlnet_cond', 'conditioning_scale', ...added]);
        expect(cn.outputNames).toEqual(RESIDUALS);
      }
      const te = await open(join(fx.modelDir, 'text_encoder'));
      expect(te.inputNames).toEqual(['input_ids']);
      expect(shapeOf(te, 'input_ids')).toEqual(['batch', 77]);
      expect(te.outputNames).toEqual(['last_hidden_state', 'pooler_output', ...hidden('hidden_states'), ...hidden('normed_hidden_states')]);
      if (sdxl) {
        const te2 = await open(join(fx.modelDir, 'text_encoder_2'));
        // optimum's names: text_embeds (projected pooled output) first, then the hidden states.
        expect(te2.outputNames).toEqual(['text_embeds', 'last_hidden_state', ...hidden('hidden_states'), ...hidden('normed_hidden_states')]);
        expect(shapeOf(te2, 'text_embeds', true)).toEqual(['batch', 32]);
      }
      const dec = await open(join(fx.modelDir, 'vae_decoder'));
      expect(dec.inputNames).toEqual(['latent_sample']);
      expect(dec.outputNames).toEqual(['sample']);
      const enc = await open(join(fx.modelDir, 'vae_encoder'));
      expect(enc.inputNames).toEqual(['sample']);
      expect(enc.outputNames).toEqual(['latent_parameters']);
    });

    it('ControlNet residuals feed the UNet; the VAE scales by 2 (a 96x64 image, latent 48x32)', async () => {
      const [h, w] = [32, 48];
      const unet = await open(join(fx.modelDir, 'unet'));
      const cn = await open(fx.controlnetDirs[0]!);
      const common: Record<string, ort.Tensor> = {
        sample: f32([1, 4, h, w], 1),
        timestep: new ort.Tensor('float32', new Float32Array([500]), [1]),
        encoder_hidden_states: f32([1, 77, sdxl ? 64 : 32], 2),
      };
      if (sdxl) {
        common.text_embeds = f32([1, 32], 3);
        common.time_ids = new ort.Tensor('float32', new Float32Array([64, 96, 0, 0, 64, 96]), [1, 6]);
      }
      const residuals = await cn.run({
        ...common,
        controlnet_cond: f32([1, 3, 2 * h, 2 * w], 4),
        conditioning_scale: new ort.Tensor('float32', new Float32Array([1]), []),
      });
      expect(residuals.down_block_res_0!.dims).toEqual([1, 4, h, w]);
      expect(residuals.mid_block_res!.dims).toEqual([1, 8, h / 2, w / 2]);
      const out = await unet.run({ ...common, ...Object.fromEntries(RESIDUALS.map((n) => [n, residuals[n]!])) });
      expect(out.out_sample!.dims).toEqual([1, 4, h, w]);
      expect((out.out_sample!.data as Float32Array).every(Number.isFinite)).toBe(true);
      const dec = await open(join(fx.modelDir, 'vae_decoder'));
      const image = await dec.run({ latent_sample: f32([1, 4, h, w], 5) });
      expect(image.sample!.dims).toEqual([1, 3, 2 * h, 2 * w]);
      const enc = await open(join(fx.modelDir, 'vae_encoder'));
      const params = await enc.run({ sample: f32([1, 3, 2 * h, 2 * w], 6) });
      expect(params.latent_parameters!.dims).toEqual([1, 8, h, w]);
    });

    it("the server's tokenizer and the exported text encoders give diffusers' prompt embeddings", async () => {
      const tok = await ClipTokenizer.fromFolder(join(fx.modelDir, 'tokenizer'));
      const tok2 = sdxl ? await ClipTokenizer.fromFolder(join(fx.modelDir, 'tokenizer_2')) : null;
      const te = await open(join(fx.modelDir, 'text_encoder'));
      const te2 = sdxl ? await open(join(fx.modelDir, 'text_encoder_2')) : null;
      const encode = async (session: ort.InferenceSession, ids: Int32Array) => session.run({ input_ids: new ort.Tensor('int32', ids, [1, 77]) });
      let worst = 0;
      for (const c of fx.cases) {
        const prompts = { prompt: String(c.request.prompt), negative_prompt: String(c.request.negative_prompt ?? '') };
        for (const [label, text] of Object.entries(prompts)) {
          const ids = tok.encode(text).ids;
          expect(Array.from(ids), `${c.name} tokenizer.${label}`).toEqual(c.token_ids[`tokenizer.${label}`]);
          const ids2 = tok2?.encode(text).ids;
          if (ids2) expect(Array.from(ids2), `${c.name} tokenizer_2.${label}`).toEqual(c.token_ids[`tokenizer_2.${label}`]);
          const key = label === 'prompt' ? 'prompt_embeds' : 'negative_prompt_embeds';
          const expected = readNpyFloat32(join(fx.dir, c.debug[key]!));
          const out1 = await encode(te, ids);
          if (!sdxl) {
            worst = Math.max(worst, maxAbsDiff(out1.last_hidden_state!.data as Float32Array, expected.data));
            continue;
          }
          const zeroed = label === 'negative_prompt' && c.request.negative_prompt === null;
          const out2 = await encode(te2!, ids2!);
          // diffusers' SDXL: hidden_states[-2] of both encoders side by side; pooled = text_embeds of the second.
          const a = out1[`hidden_states.${LAYERS - 1}`]!.data as Float32Array;
          const b = out2[`hidden_states.${LAYERS - 1}`]!.data as Float32Array;
          const joined = new Float32Array(77 * 64);
          for (let t = 0; t < 77; t++) {
            joined.set(a.subarray(t * 32, t * 32 + 32), t * 64);
            joined.set(b.subarray(t * 32, t * 32 + 32), t * 64 + 32);
          }
          const pooledKey = label === 'prompt' ? 'pooled_prompt_embeds' : 'negative_pooled_prompt_embeds';
          const pooled = readNpyFloat32(join(fx.dir, c.debug[pooledKey]!));
          if (zeroed) {
            // force_zeros_for_empty_prompt: a null negative prompt is zeros, not the encoding of "".
            expect(expected.data.every((v) => v === 0)).toBe(true);
            expect(pooled.data.every((v) => v === 0)).toBe(true);
            continue;
          }
          worst = Math.max(worst, maxAbsDiff(joined, expected.data));
          worst = Math.max(worst, maxAbsDiff(out2.text_embeds!.data as Float32Array, pooled.data));
        }
      }
      expect(worst).toBeLessThan(1e-4);
    });
  });
}
