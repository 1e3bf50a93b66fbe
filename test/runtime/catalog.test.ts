/** Layout detection and its precedence, shared ControlNet folders and names, tokenizer fallback (file presence only). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanModels, type ModelCatalog } from '../../src/runtime/catalog.js';

const root = mkdtempSync(path.join(tmpdir(), 'catalog-'));
const touch = (...parts: string[]) => {
  const file = path.join(root, ...parts);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, parts.at(-1)!.endsWith('.json') ? '{}' : '');
};
/** text encoder, VAE decoder and a tokenizer: what every layout needs besides its UNet. */
const baseParts = (id: string, tokenizer = true) => {
  touch(id, 'text_encoder', 'model.onnx');
  touch(id, 'vae_decoder', 'model.onnx');
  if (tokenizer) {
    touch(id, 'tokenizer', 'vocab.json');
    touch(id, 'tokenizer', 'merges.txt');
  }
};

let catalog: ModelCatalog;
beforeAll(async () => {
  baseParts('ours');
  touch('ours', 'unet', 'model.onnx');
  touch('ours', 'controlnet', 'canny', 'model.onnx');

  baseParts('diffusion-web');
  touch('diffusion-web', 'unet', 'model.onnx');
  touch('diffusion-web', 'cnet', 'model.onnx');
  touch('diffusion-web', 'controlnet', 'model.onnx'); // cnet/ still wins

  baseParts('amuse');
  touch('amuse', 'unet', 'model.onnx');
  touch('amuse', 'controlnet', 'model.onnx');

  baseParts('unpaint', false);
  touch('unpaint', 'unpaint.json');
  touch('unpaint', 'controlnet', 'model.onnx');

  baseParts('broken');
  rmSync(path.join(root, 'broken', 'vae_decoder'), { recursive: true });
  touch('broken', 'unet', 'model.onnx');

  touch('not-a-model', 'readme.txt');

  touch('controlnet', 'Canny', 'model.onnx');
  touch('controlnet', 'seg.onnx');
  touch('control', 'depth.onnx');
  touch('control', 'canny.onnx'); // controlnet/Canny came first
  touch('tokenizer', 'vocab.json');
  touch('tokenizer', 'merges.txt');
  catalog = await scanModels(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('scanModels', () => {
  it("detects each folder's layout, a dedicated ControlNet UNet before unet/", () => {
    const layouts = Object.fromEntries([...catalog.models].map(([id, m]) => [id, [m.layout, path.relative(m.dir, m.unet)]]));
    expect(layouts).toEqual({
      amuse: ['onnxstack', 'controlnet/model.onnx'],
      'diffusion-web': ['onnx-web', 'cnet/model.onnx'],
      ours: ['native', 'unet/model.onnx'],
      unpaint: ['axodox', 'controlnet/model.onnx'],
    });
  });

  it('says why a folder that looks like a model cannot be used', () => {
    expect(catalog.rejected).toEqual([{ dir: path.join(root, 'broken'), layout: 'native', reason: 'no vae_decoder/model.onnx' }]);
  });

  it('gives a model its own ControlNets, the others the shared ones under request names', () => {
    expect(catalog.controlnets.get('ours')).toEqual(new Map([['canny', path.join(root, 'ours', 'controlnet', 'canny', 'model.onnx')]]));
    expect(catalog.controlnets.get('amuse')).toEqual(
      new Map([
        ['canny', path.join(root, 'controlnet', 'Canny', 'model.onnx')],
        ['segmentation', path.join(root, 'controlnet', 'seg.onnx')],
        ['depth', path.join(root, 'control', 'depth.onnx')],
      ]),
    );
  });

  it('uses the shared tokenizer/ for a folder without one, and its own otherwise', () => {
    expect(catalog.models.get('unpaint')!.tokenizerDir).toBe(path.join(root, 'tokenizer'));
    expect(catalog.models.get('ours')!.tokenizerDir).toBe(path.join(root, 'ours', 'tokenizer'));
  });

  it("defaults the scheduler config to SD 1.5's when the folder has none", () => {
    expect(catalog.models.get('amuse')!.schedulerConfig).toMatchObject({ _class_name: 'PNDMScheduler', beta_start: 0.00085 });
  });
});
