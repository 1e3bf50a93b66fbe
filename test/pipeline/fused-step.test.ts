/**
 * The fused step graph (ControlNets + scales + guess mode + sum + UNet in one onnxruntime session) gives the images
 * of the separate sessions, on real tiny graphs and real PNGs: 1 and 2 ControlNets, guess mode with CFG, the float16
 * set, several scales through one cached graph, weights moved to in-memory external data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFusedStepModel, FUSED, fusedCoverage } from '../../src/pipeline/fused-step-graph.js';
import { FusedStepSessions } from '../../src/pipeline/fused-step-sessions.js';
import { generate } from '../../src/pipeline/generate.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import type { BaseModelFiles, GenerationSpec } from '../../src/domain/index.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { MODELS_DIR } from '../helpers/models.js';
import { pixels, spec, unit } from './helpers.js';

const fused = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, fusedStep: 'on' });
const auto = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, fusedStep: 'auto' });
const separate = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, fusedStep: 'off' });
let fp32: BaseModelFiles;
let fp16: BaseModelFiles;
let cn32: Map<string, string>;
let cn16: Map<string, string>;

beforeAll(async () => {
  const catalog = await scanModels(MODELS_DIR);
  fp32 = catalog.models.get('tiny-sd15')!;
  fp16 = catalog.models.get('tiny-sd15-fp16')!;
  cn32 = catalog.controlnets.get('tiny-sd15')!;
  cn16 = catalog.controlnets.get('tiny-sd15-fp16')!;
});
afterAll(async () => {
  await Promise.all([fused.release(), separate.release(), auto.release()]);
});

/** Largest per-channel difference between two decoded images, in 1/255 steps. */
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function both(job: GenerationSpec): Promise<{ fusedPixels: Uint8Array; separatePixels: Uint8Array; graphs: string[] }> {
  const a = await generate(job, fused);
  const b = await generate(job, separate);
  return { fusedPixels: await pixels(a.images[0]!), separatePixels: await pixels(b.images[0]!), graphs: [a.stepGraph!, b.stepGraph!] };
}

describe('fused vs separate step', () => {
  it('one ControlNet (float32): the same image', async () => {
    const r = await both(spec(fp32, [unit('canny', cn32.get('canny')!, { conditioningScale: 0.7 })]));
    expect(r.graphs).toEqual(['fused', 'separate']);
    expect(maxDiff(r.fusedPixels, r.separatePixels)).toBeLessThanOrEqual(1);
  });

  it('two ControlNets with their own scales', async () => {
    const units = [unit('canny', cn32.get('canny')!, { conditioningScale: 0.6 }), unit('depth', cn32.get('depth')!, { type: 'canny', conditioningScale: 1.3 })];
    const r = await both(spec(fp32, units));
    expect(r.graphs[0]).toBe('fused');
    expect(maxDiff(r.fusedPixels, r.separatePixels)).toBeLessThanOrEqual(1);
  });

  it('guess mode with CFG (ControlNets on the conditional half, zero first half, logspace factors)', async () => {
    const units = [unit('canny', cn32.get('canny')!), unit('depth', cn32.get('depth')!, { type: 'canny', conditioningScale: 0.5 })];
    const r = await both(spec(fp32, units, { guessMode: true }));
    expect(r.graphs[0]).toBe('fused');
    expect(maxDiff(r.fusedPixels, r.separatePixels)).toBeLessThanOrEqual(1);
    // FUSED_STEP=auto leaves guess mode to the separate sessions (no second graph beside the common one).
    expect((await generate(spec(fp32, units, { guessMode: true }), auto)).stepGraph).toBe('separate');
    expect(auto.fused.size).toBe(0);
  });

  it('the float16 set, one and two ControlNets', async () => {
    const one = await both(spec(fp16, [unit('canny', cn16.get('canny')!, { conditioningScale: 0.8 })]));
    expect(one.graphs[0]).toBe('fused');
    expect(maxDiff(one.fusedPixels, one.separatePixels)).toBeLessThanOrEqual(1);
    const names = [...cn16.keys()];
    const two = await both(
      spec(fp16, [unit(names[0]!, cn16.get(names[0]!)!, { type: 'canny' }), unit(names[1]!, cn16.get(names[1]!)!, { type: 'canny', conditioningScale: 0.4 })]),
    );
    expect(maxDiff(two.fusedPixels, two.separatePixels)).toBeLessThanOrEqual(1);
  });

  it('one cached graph serves every scale', async () => {
    await fused.release();
    const at = async (scale: number) => {
      const r = await generate(spec(fp32, [unit('canny', cn32.get('canny')!, { conditioningScale: scale })]), fused);
      return pixels(r.images[0]!);
    };
    const [a, b] = [await at(0.2), await at(1.8)];
    expect(fused.fused.size).toBe(1);
    expect(maxDiff(a, b)).toBeGreaterThan(2);
    const reference = await generate(spec(fp32, [unit('canny', cn32.get('canny')!, { conditioningScale: 1.8 })]), separate);
    expect(maxDiff(b, await pixels(reference.images[0]!))).toBeLessThanOrEqual(1);
  });
});

describe('the fused graph', () => {
  it('covers only what it can (fixed batch, mixed float types, pooled)', async () => {
    const [unet, canny, canny16] = await Promise.all([
      separate.unet(fp32.unet),
      separate.controlnet(cn32.get('canny')!),
      separate.controlnet(cn16.get([...cn16.keys()][0]!)!),
    ]);
    expect(fusedCoverage(unet.signature, [canny.signature])).toBeNull();
    expect(fusedCoverage(unet.signature, [canny16.signature])).toMatch(/float16, the UNet float32/);
    expect(fusedCoverage({ ...unet.signature, batch: 2 }, [canny.signature])).toMatch(/fixed batch/);
    expect(fusedCoverage(unet.signature, [{ ...canny.signature, pooled: true }])).toMatch(/pools/);
    expect(fusedCoverage(unet.signature, [])).toMatch(/no ControlNet/);
  });

  it('runs with its weights as in-memory external data, and matches the inline build', async () => {
    const [unet, canny] = await Promise.all([separate.unet(fp32.unet), separate.controlnet(cn32.get('canny')!)]);
    const variant = { guess: false, halfBatch: false, guessScales: [] };
    const inline = buildFusedStepModel(unet, [canny], variant);
    const external = buildFusedStepModel(unet, [canny], variant, { externalizeFrom: 0 });
    expect(inline.externalData).toHaveLength(0);
    expect(external.externalData.length).toBeGreaterThan(10);
    expect(external.model.byteLength).toBeLessThan(inline.model.byteLength / 2);
    const s1 = await ort.InferenceSession.create(inline.model);
    const s2 = await ort.InferenceSession.create(external.model, { externalData: external.externalData });
    const rng = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
    const u = unet.signature;
    const hidden = u.hiddenStates.shape as number[];
    const feeds = {
      [FUSED.sample]: new ort.Tensor('float32', rng(2 * 4 * 8 * 8, 1), [2, 4, 8, 8]),
      [FUSED.timestep]: new ort.Tensor(u.timestep.type as 'int64', u.timestep.type === 'int64' ? BigInt64Array.of(500n, 500n) : Float32Array.of(500, 500), [2]),
      [FUSED.hiddenStates]: new ort.Tensor('float32', rng(2 * 77 * hidden[2]!, 2), [2, 77, hidden[2]!]),
      [FUSED.cond(0)]: new ort.Tensor('float32', rng(2 * 3 * 64 * 64, 3), [2, 3, 64, 64]),
      [FUSED.scale(0)]: new ort.Tensor('float32', Float32Array.of(0.9), []),
    };
    const a = (await s1.run(feeds))[FUSED.output]!.data as Float32Array;
    const b = (await s2.run(feeds))[FUSED.output]!.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    await Promise.all([s1.release(), s2.release()]);
  });

  it('reads a UNet whose weights are in an external data file (as diffusers exports SD 1.5)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fused-external-'));
    try {
      const saved = saveModel(buildUNet(TINY, FP32_FORMAT), path.join(dir, 'unet', 'model.onnx'), { externalData: 'always' });
      expect(saved.dataPath).toBeDefined();
      const job = spec({ ...fp32, unet: saved.modelPath }, [unit('canny', cn32.get('canny')!, { conditioningScale: 0.9 })]);
      const a = await generate(job, fused);
      const b = await generate(job, separate);
      expect(a.stepGraph).toBe('fused');
      expect(maxDiff(await pixels(a.images[0]!), await pixels(b.images[0]!))).toBeLessThanOrEqual(1);
    } finally {
      await Promise.all([fused.release(dir), separate.release(dir)]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps at most its capacity of sessions, releasing the least recently used', async () => {
    const cache = new FusedStepSessions({ deviceId: 0, threads: 1 }, 1);
    const [unet, canny, depth] = await Promise.all([
      separate.unet(fp32.unet),
      separate.controlnet(cn32.get('canny')!),
      separate.controlnet(cn32.get('depth')!),
    ]);
    const variant = { guess: false, halfBatch: false, guessScales: [] };
    const first = await cache.get(unet, [canny], variant, 'cpu');
    expect(first.session).not.toBeNull();
    expect(await cache.get(unet, [canny], variant, 'cpu')).toBe(first);
    expect(await cache.get(unet, [depth], variant, 'cpu', false)).toEqual({ session: null, skipped: 'FUSED_STEP_CACHE (1) is full' });
    expect(await cache.get(unet, [canny], variant, 'cpu', false)).toBe(first);
    await cache.get(unet, [depth], variant, 'cpu');
    expect(cache.size).toBe(1);
    expect(await cache.release(cn32.get('depth')!)).toBe(1);
    expect(cache.size).toBe(0);
  });
});
