/**
 * generate() on graphs that differ from ours the way other exporters' do — names that say nothing, another input
 * order, residuals listed alphabetically, a fixed batch — gives our image; a pooled (shuffle) ControlNet broadcasts
 * and turns guess mode on, as diffusers does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../../src/onnx/graph.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { fixBatch, renameValue, reorderInputs } from '../../scripts/tiny-models/retarget.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { generate } from '../../src/pipeline/generate.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import type { BaseModelFiles, GenerationSpec } from '../../src/domain/index.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { MODELS_DIR } from '../helpers/models.js';
import { meanAbsDiff, pixels, spec, unit } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'generate-adapt-'));
const sessions = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });
let model: BaseModelFiles;
let canny: string;

const save = (name: string, g: GraphBuilder) => saveModel(g, path.join(root, name, 'model.onnx')).modelPath;
const FORMAT = { ...FP32_FORMAT, conditioningScale: true };
const CANNY_SEED = TINY.seeds.controlnet; // canny is CONTROLNET_NAMES[0]

/** Residual names that tell their index, listed alphabetically as some graph rewriters leave them. */
function alphabeticalResiduals(g: GraphBuilder, list: 'inputs' | 'outputs', prefix: string): void {
  for (let i = 0; i < 12; i++) renameValue(g, `down_block_res_${i}`, `${prefix}${i}`);
  const decls = g[list];
  const rank = (name: string) => (name.startsWith(prefix) ? String(Number(name.slice(prefix.length))) : null);
  const residuals = decls.filter((d) => rank(d.name) !== null).sort((a, b) => rank(a.name)!.localeCompare(rank(b.name)!));
  const rest = decls.filter((d) => rank(d.name) === null);
  decls.splice(0, decls.length, ...(list === 'inputs' ? [...rest, ...residuals] : [...residuals, ...rest]));
}

/** Our tiny UNet and canny ControlNet with another exporter's interface and a fixed batch. */
function strangeGraphs(batch: number): { unet: string; controlnet: string } {
  const unet = buildUNet(TINY, FP32_FORMAT);
  renameValue(unet, 'sample', 'noisy');
  alphabeticalResiduals(unet, 'inputs', 'res');
  fixBatch(unet, batch);
  const cn = buildControlNet(TINY, FORMAT, { seed: CANNY_SEED });
  renameValue(cn, 'sample', 'in0');
  renameValue(cn, 'controlnet_cond', 'in1');
  renameValue(cn, 'conditioning_scale', 'in2');
  reorderInputs(cn, ['in1', 'in2', 'encoder_hidden_states', 'timestep', 'in0']);
  alphabeticalResiduals(cn, 'outputs', 'out');
  fixBatch(cn, batch);
  return { unet: save(`unet-b${batch}`, unet), controlnet: save(`cn-b${batch}`, cn) };
}

beforeAll(async () => {
  const catalog = await scanModels(MODELS_DIR);
  model = catalog.models.get('tiny-sd15')!;
  canny = catalog.controlnets.get('tiny-sd15')!.get('canny')!;
});
afterAll(async () => {
  await sessions.release();
  rmSync(root, { recursive: true, force: true });
});

async function images(job: GenerationSpec): Promise<Uint8Array[]> {
  const result = await generate(job, sessions);
  return Promise.all(result.images.map(pixels));
}

describe('graphs from another exporter', () => {
  it('runs a batch-1 export in chunks: CFG with two samples, same images as ours', async () => {
    const strange = strangeGraphs(1);
    const job = (unet: string, cn: string) => spec({ ...model, unet }, [unit('canny', cn, { conditioningScale: 0.6 })], { samples: 2 });
    const [theirs, ours] = await Promise.all([images(job(strange.unet, strange.controlnet)), images(job(model.unet, canny))]);
    expect(theirs).toHaveLength(2);
    theirs.forEach((image, k) => expect(meanAbsDiff(image, ours[k]!)).toBeLessThan(0.01));
    expect(meanAbsDiff(theirs[0]!, theirs[1]!)).toBeGreaterThan(1);
  });

  it('pads a batch-2 export when the job has one item (no CFG)', async () => {
    const strange = strangeGraphs(2);
    const job = (unet: string, cn: string) => spec({ ...model, unet }, [unit('canny', cn)], { guidanceScale: 1 });
    const [theirs, ours] = await Promise.all([images(job(strange.unet, strange.controlnet)), images(job(model.unet, canny))]);
    expect(meanAbsDiff(theirs[0]!, ours[0]!)).toBeLessThan(0.01);
  });
});

describe('a pooled (shuffle) ControlNet', () => {
  it('broadcasts its 1x1 residuals and runs in guess mode, with a warning', async () => {
    const shuffle = save('shuffle', buildControlNet(TINY, FORMAT, { seed: CANNY_SEED + 11, pooled: true }));
    const job = (scale: number, guessMode: boolean) => spec(model, [unit('shuffle', shuffle, { type: 'canny', conditioningScale: scale })], { guessMode });
    const forced = await generate(job(1, false), sessions);
    expect(forced.warnings.join(' ')).toMatch(/guess_mode: on, because ControlNet shuffle pools its conditions globally/);
    const [asked, off] = await Promise.all([images(job(1, true)), images(job(0, true))]);
    const image = await pixels(forced.images[0]!);
    expect(meanAbsDiff(image, asked[0]!)).toBe(0);
    expect(meanAbsDiff(image, off[0]!)).toBeGreaterThan(0.5);
  });
});
