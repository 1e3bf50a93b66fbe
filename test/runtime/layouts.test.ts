/**
 * Other tools' model folders, generated with the tiny set's weights in each tool's layout and I/O conventions:
 * the catalog detects the layout, and generate() on them gives the image our own layout gives with the same weights.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { writeToolLayout, type ToolLayout } from '../../scripts/tiny-models/tool-layouts.js';
import { generate } from '../../src/pipeline/generate.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { scanModels, type ModelCatalog } from '../../src/runtime/catalog.js';
import { MODELS_DIR } from '../helpers/models.js';
import { meanAbsDiff, pixels, spec, unit } from '../pipeline/helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'layouts-'));
const sessions = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });
let native: ModelCatalog;

beforeAll(async () => {
  native = await scanModels(MODELS_DIR);
});
afterAll(async () => {
  await sessions.release();
  rmSync(root, { recursive: true, force: true });
});

async function layoutCatalog(tool: ToolLayout): Promise<ModelCatalog> {
  const modelsDir = path.join(root, tool);
  writeToolLayout(modelsDir, tool, ['canny', 'depth']);
  if (tool === 'axodox') {
    // Unpaint ships the tokenizer with the app: the models directory's shared tokenizer/ stands in.
    mkdirSync(path.join(modelsDir, 'tokenizer'));
    for (const [name, text] of Object.entries(builtinTokenizerFiles().files)) writeFileSync(path.join(modelsDir, 'tokenizer', name), text);
  }
  return scanModels(modelsDir);
}

/** Two ControlNets (canny 1.0 + depth 0.5) on the model, as PNG pixels. */
async function run(catalog: ModelCatalog, id: string): Promise<{ image: Uint8Array; warnings: string[] }> {
  const model = catalog.models.get(id)!;
  const cns = catalog.controlnets.get(id)!;
  const result = await generate(
    spec(model, [unit('canny', cns.get('canny')!), unit('depth', cns.get('depth')!, { type: 'canny', conditioningScale: 0.5 })]),
    sessions,
  );
  expect(result.images).toHaveLength(1);
  return { image: await pixels(result.images[0]!), warnings: result.warnings };
}

describe("other tools' layouts", () => {
  it('reads onnx-web: cnet/ as the UNet, control/*.onnx as ControlNets; same image as ours (float32)', async () => {
    const catalog = await layoutCatalog('onnx-web');
    const model = catalog.models.get('diffusion-tiny')!;
    expect(model.layout).toBe('onnx-web');
    expect(model.unet).toBe(path.join(model.dir, 'cnet', 'model.onnx'));
    expect([...catalog.controlnets.get('diffusion-tiny')!.keys()]).toEqual(['canny', 'depth']);
    const [theirs, ours] = await Promise.all([run(catalog, 'diffusion-tiny'), run(native, 'tiny-sd15')]);
    expect(meanAbsDiff(theirs.image, ours.image)).toBe(0);
  });

  it('reads OnnxStack/Amuse: controlnet/model.onnx as the UNet, SD 1.5 scheduler by default, Canny -> canny', async () => {
    const catalog = await layoutCatalog('onnxstack');
    const model = catalog.models.get('tiny-amuse')!;
    expect(model.layout).toBe('onnxstack');
    expect(model.unet).toBe(path.join(model.dir, 'controlnet', 'model.onnx'));
    expect(model.schedulerConfig).toMatchObject({ beta_schedule: 'scaled_linear', steps_offset: 1 });
    expect(catalog.controlnets.get('tiny-amuse')!.get('canny')).toBe(path.join(root, 'onnxstack', 'controlnet', 'Canny', 'model.onnx'));
    // Its ControlNets run in float16 (half I/O) beside a float32 UNet: close to ours, not equal.
    const [theirs, ours] = await Promise.all([run(catalog, 'tiny-amuse'), run(native, 'tiny-sd15')]);
    const diff = meanAbsDiff(theirs.image, ours.image);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.1);
  });

  it('reads axodox/Unpaint with the shared tokenizer; same image as our float16 set', async () => {
    const catalog = await layoutCatalog('axodox');
    const model = catalog.models.get('tiny-unpaint')!;
    expect(model.layout).toBe('axodox');
    expect(model.tokenizerDir).toBe(path.join(root, 'axodox', 'tokenizer'));
    const [theirs, ours] = await Promise.all([run(catalog, 'tiny-unpaint'), run(native, 'tiny-sd15-fp16')]);
    expect(meanAbsDiff(theirs.image, ours.image)).toBe(0);
  });
});
