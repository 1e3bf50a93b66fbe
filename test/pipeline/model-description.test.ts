/**
 * The model description read from real generated graphs and folders of several SD topologies (SD 1.5's, diffusers'
 * tiny 2-block test UNet, a 3-block distilled UNet, SD 2.x's 1024-wide text and v-prediction), the residual layout
 * from each source it trusts, torch's float32 guess-mode scales, and the UNet/ControlNet fit check.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSet } from '../../scripts/tiny-models/generate.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { TINY_2BLOCK, TINY_3BLOCK, TINY_SD2 } from '../../scripts/tiny-models/sd/topologies.js';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import type { BaseModelFiles } from '../../src/domain/index.js';
import { checkControlNetFits } from '../../src/pipeline/controlnet-fit.js';
import { describeModel, guessModeScales } from '../../src/pipeline/model-description.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { warmUp } from '../../src/pipeline/warmup.js';
import { residualLayout, slotsFromBlocks } from '../../src/pipeline/residual-layout.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { SignatureError, unetSignature, type ControlNetSignature, type TensorSpec } from '../../src/runtime/signatures.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { session } from '../tiny-models/helpers.js';
import { MODELS_DIR } from '../helpers/models.js';

const root = mkdtempSync(path.join(tmpdir(), 'model-description-'));
const sessions = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });
const models = new Map<string, BaseModelFiles>();
const controlnets = new Map<string, Map<string, string>>();

beforeAll(async () => {
  const tokenizer = builtinTokenizerFiles();
  for (const set of [TINY_2BLOCK, TINY_3BLOCK, TINY_SD2]) writeSet(root, set, FP32_FORMAT, tokenizer, ['canny']);
  // SD 2.x: v-prediction, and its tokenizer pads with "!".
  const sd2 = path.join(root, TINY_SD2.baseName);
  const schedulerFile = path.join(sd2, 'scheduler', 'scheduler_config.json');
  writeFileSync(schedulerFile, JSON.stringify({ ...JSON.parse(readFileSync(schedulerFile, 'utf8')), prediction_type: 'v_prediction' }));
  const tokenizerFile = path.join(sd2, 'tokenizer', 'tokenizer_config.json');
  writeFileSync(tokenizerFile, JSON.stringify({ ...JSON.parse(readFileSync(tokenizerFile, 'utf8')), pad_token: '!' }));
  for (const dir of [root, MODELS_DIR]) {
    const catalog = await scanModels(dir);
    catalog.models.forEach((m, id) => models.set(id, m));
    catalog.controlnets.forEach((c, id) => controlnets.set(id, c));
  }
});
afterAll(async () => {
  await sessions.release();
  rmSync(root, { recursive: true, force: true });
});

const describeId = (id: string) => sessions.describe(models.get(id)!);
const spec = (name: string, shape: (number | string)[]): TensorSpec => ({ name, type: 'float32', shape });

describe('model description', () => {
  it("SD 1.5's shape: 12 + 1 residuals at levels 0-3, 4 latent channels, VAE factor 8, 77 tokens", async () => {
    const d = await describeId('tiny-sd15');
    expect(d.residuals.map((r) => r.level)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    expect(d.residuals.map((r) => r.channels)).toEqual([16, 16, 16, 16, 32, 32, 32, 32, 32, 32, 32, 32, 32]);
    expect(d).toMatchObject({ latentChannels: 4, vaeScaleFactor: 8, scalingFactor: 0.18215, textLength: 77, hiddenSize: 32, predictionType: 'epsilon' });
  });

  it("diffusers' tiny 2-block test UNet: 6 + 1 residuals, VAE factor 2", async () => {
    const d = await describeId('tiny-2block');
    expect(d.residuals).toEqual([
      { channels: 32, level: 0 },
      { channels: 32, level: 0 },
      { channels: 32, level: 0 },
      { channels: 32, level: 1 },
      { channels: 64, level: 1 },
      { channels: 64, level: 1 },
      { channels: 64, level: 1 },
    ]);
    expect(d.vaeScaleFactor).toBe(2);
    expect(Array.from(d.guessModeScales)).toEqual(TORCH_LOGSPACE_7);
  });

  it('a 3-block distilled UNet: 9 + 1 residuals', async () => {
    const d = await describeId('tiny-3block');
    expect(d.residuals.map((r) => r.level)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(d.guessModeScales).toHaveLength(10);
  });

  it('SD 2.x: 1024-wide text states, v-prediction, the tokenizer\'s "!" pad token', async () => {
    const d = await describeId('tiny-sd2');
    expect(d).toMatchObject({ hiddenSize: 1024, predictionType: 'v_prediction', textLength: 77 });
    const tokenizer = await sessions.tokenizer(models.get('tiny-sd2')!.tokenizerDir);
    const vocab = JSON.parse(readFileSync(path.join(models.get('tiny-sd2')!.tokenizerDir, 'vocab.json'), 'utf8')) as Record<string, number>;
    expect(tokenizer.padId).toBe(vocab['!']);
    expect(Array.from(tokenizer.encode('a cat').ids.slice(-3))).toEqual([vocab['!'], vocab['!'], vocab['!']]);
  });

  it('refuses parts that do not fit each other when the model loads: an inpainting UNet, text of another width', async () => {
    const base = models.get('tiny-sd15')!;
    const [textEncoder, vae, tokenizer, sd2Text] = await Promise.all([
      sessions.textEncoder(base.textEncoder),
      sessions.vaeDecoder(base.vaeDecoder),
      sessions.tokenizer(base.tokenizerDir),
      sessions.textEncoder(models.get('tiny-sd2')!.textEncoder),
    ]);
    const unet = (await sessions.unet(base.unet)).signature;
    const inpainting = unetSignature(await session(buildUNet({ ...TINY, unet: { ...TINY.unet, inChannels: 9 } }, FP32_FORMAT)));
    const parts = { unet, textEncoder: textEncoder.signature, vaeDecoder: vae.signature, tokenizer };
    expect(() => describeModel(base, { ...parts, unet: inpainting })).toThrow(/model tiny-sd15: the UNet takes 9 channels and predicts 4 \(an inpainting UNet/);
    expect(() => describeModel(base, { ...parts, textEncoder: sd2Text.signature })).toThrow(
      'model tiny-sd15: the text encoder gives 1024-wide states but the UNet attends to 32',
    );
  });

  it("SDXL (tiny-sdxl): family sdxl, 9 + 1 residuals, both encoders' widths, text_embeds and time_ids, VAE 0.13025", async () => {
    const d = await describeId('tiny-sdxl');
    expect(d).toMatchObject({ family: 'sdxl', hiddenSize: 64, scalingFactor: 0.13025, textLength: 77, latentChannels: 4 });
    expect(d.addedConditions).toEqual({ textEmbeds: 'text_embeds', timeIds: 'time_ids', pooledWidth: 32 });
    expect(d.residuals).toHaveLength(10);
    expect(d.residuals.map((r) => r.level)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect((await describeId('tiny-sd15')).addedConditions).toBeNull();
  });

  it("refuses a UNet with SDXL's added conditions in a folder without the second text encoder", async () => {
    const base = models.get('tiny-sd15')!;
    const [textEncoder, vae, tokenizer] = await Promise.all([
      sessions.textEncoder(base.textEncoder),
      sessions.vaeDecoder(base.vaeDecoder),
      sessions.tokenizer(base.tokenizerDir),
    ]);
    const g = buildUNet(TINY, FP32_FORMAT);
    g.input('text_embeds', 'float32', ['batch', 32]);
    g.input('time_ids', 'float32', ['batch', 6]);
    const unet = unetSignature(await session(g));
    expect(unet.addedConditions.map((s) => s.name)).toEqual(['text_embeds', 'time_ids']);
    expect(() => describeModel(base, { unet, textEncoder: textEncoder.signature, vaeDecoder: vae.signature, tokenizer })).toThrow(
      "model tiny-sd15: its UNet also takes text_embeds, time_ids (SDXL's added conditions) but the folder has no text_encoder_2/ and tokenizer_2/ (SDXL's second text encoder)",
    );
  });

  it('refuses a ControlNet of another topology, naming both', async () => {
    const [sd15, twoBlock] = await Promise.all([describeId('tiny-sd15'), describeId('tiny-2block')]);
    const cn = await sessions.controlnet(controlnets.get('tiny-2block')!.get('canny')!);
    expect(() => checkControlNetFits('tiny-2block', twoBlock, cn.signature, 'canny')).not.toThrow();
    expect(() => checkControlNetFits('tiny-sd15', sd15, cn.signature, 'canny')).toThrow(SignatureError);
    expect(() => checkControlNetFits('tiny-sd15', sd15, cn.signature, 'canny')).toThrow(
      'ControlNet "canny" does not fit model "tiny-sd15"\'s UNet: it returns 7 residuals (6 down-block + 1 mid-block) where the UNet takes 13 residuals (12 down-block + 1 mid-block)',
    );
  });

  it('refuses a ControlNet whose residuals sit at other levels even when count and channels agree', () => {
    const model = { residuals: slotsFromBlocks([8, 8], [2, 2]) };
    const outputs = [0, 0, 0, 1, 1, 1, 1].map((_, i) => spec(`r${i}`, ['b', 8, i < 2 ? 'h' : 'h_div2', i < 2 ? 'w' : 'w_div2']));
    const cn = { sample: spec('sample', ['b', 4, 'h', 'w']), outputs, addedConditions: [], pooled: false } as unknown as ControlNetSignature;
    expect(() => checkControlNetFits('m', model, cn, 'c')).toThrow(
      /its residual 2 \("r2"\) is at 1\/2 of the latent size where the UNet takes it at the latent size/,
    );
  });
});

describe('warm-up on another topology', () => {
  it("runs the 2-block ControlNet, UNet and VAE decoder through the generation's own stages", async () => {
    const [report] = await warmUp(sessions, models.get('tiny-2block')!, [controlnets.get('tiny-2block')!.get('canny')!], [{ width: 64, height: 48 }]);
    expect(Object.keys(report!.runMs).sort()).toEqual(['controlnet', 'unet', 'vae_decoder']);
  });

  it("runs SDXL's ControlNets and UNet with zero text_embeds and time_ids", async () => {
    const sdxl = controlnets.get('tiny-sdxl')!;
    const [report] = await warmUp(sessions, models.get('tiny-sdxl')!, [sdxl.get('canny')!, sdxl.get('depth')!], [{ width: 64, height: 48 }]);
    expect(Object.keys(report!.runMs).sort()).toEqual(['controlnet', 'unet', 'vae_decoder']);
  });
});

describe('residual layout', () => {
  const sample = spec('sample', ['batch', 4, 'height', 'width']);
  const shapes = (levels: number[], name: (l: number) => number | string) => levels.map((l, i) => spec(`r${i}`, ['batch', 8, name(l), name(l)]));
  const twoBlock = [0, 0, 0, 1, 1, 1, 1];

  it("reads export_onnx.py's axis names, the generator's and static sizes", () => {
    expect(
      residualLayout(
        shapes(twoBlock, (l) => (l === 0 ? 'height' : `height_div${2 ** l}`)),
        sample,
      ).map((s) => s.level),
    ).toEqual(twoBlock);
    expect(
      residualLayout(
        shapes(twoBlock, (l) => (l === 0 ? 'height' : `ceil(height/${2 ** l})`)),
        sample,
      ).map((s) => s.level),
    ).toEqual(twoBlock);
    const runs = ['height', 'height', 'height', 'h2', 'h2', 'h2', 'h2'];
    expect(
      residualLayout(
        runs.map((h, i) => spec(`r${i}`, ['batch', 8, h, h])),
        sample,
      ).map((s) => s.level),
    ).toEqual(twoBlock);
    // Not in runs (and 11 down residuals fit no block structure): refused, not guessed.
    const broken = ['height', 'h2', 'height', ...Array<string>(9).fill('h2')];
    expect(() =>
      residualLayout(
        broken.map((h, i) => spec(`r${i}`, ['batch', 3, h, h])),
        sample,
      ),
    ).toThrow(/cannot tell/);
    const fixed = spec('sample', [2, 4, 64, 64]);
    expect(
      residualLayout(
        shapes(twoBlock, (l) => 64 / 2 ** l),
        fixed,
      ).map((s) => s.level),
    ).toEqual(twoBlock);
  });

  it('takes unet/config.json over the structure when the graph names nothing, and ignores a config of another count', () => {
    const unnamed = shapes([0, 0, 0, 0, 0, 0, 0], () => 'unk');
    // 6 down residuals could be 2 blocks of 2 layers or 3 blocks of 1: the config says which.
    expect(residualLayout(unnamed, sample, { block_out_channels: [8, 8, 8], layers_per_block: 1 }).map((s) => s.level)).toEqual([0, 0, 1, 1, 2, 2, 2]);
    expect(residualLayout(unnamed, sample, { block_out_channels: [8, 8, 8, 8], layers_per_block: 2 }).map((s) => s.level)).toEqual(twoBlock);
    expect(residualLayout(unnamed, sample).map((s) => s.level)).toEqual(twoBlock);
  });

  it('says why when nothing tells the levels', () => {
    // 11 down residuals fit no B blocks of L layers (B · (L + 1) = 11).
    expect(() =>
      residualLayout(
        shapes(Array(12).fill(0), () => 'unk'),
        sample,
      ),
    ).toThrow(/cannot tell the resolution of its 12 residual inputs/);
  });
});

/** torch.logspace(-1, 0, n) in float32 (torch 1.13, CPU), as diffusers' guess mode computes it. */
const TORCH_LOGSPACE_7 = [0.10000000149011612, 0.14677992463111877, 0.2154434621334076, 0.3162277638912201, 0.46415889263153076, 0.6812920570373535, 1];
const TORCH_LOGSPACE_13 = [
  0.10000000149011612, 0.12115276604890823, 0.14677992463111877, 0.17782793939113617, 0.2154434621334076, 0.26101571321487427, 0.3162277638912201,
  0.3831186890602112, 0.46415889263153076, 0.5623413324356079, 0.6812920570373535, 0.825404167175293, 1,
];

describe('guess-mode scales', () => {
  it('are torch.logspace(-1, 0, n) in float32, bit for bit', () => {
    expect(Array.from(guessModeScales(13))).toEqual(TORCH_LOGSPACE_13);
    expect(Array.from(guessModeScales(7))).toEqual(TORCH_LOGSPACE_7);
  });
});
