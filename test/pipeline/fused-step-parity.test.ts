/**
 * The fused step graph on graphs written by diffusers' exporter (the sd-tiny parity fixture: scripts/export_onnx.py
 * output, opsets and names as a real export has them): two ControlNets, guess mode and a scale give the separate
 * sessions' images, and both stay as close to diffusers' expected image.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeToRgb } from '../../src/image/codec.js';
import { generate } from '../../src/pipeline/generate.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import type { BaseModelFiles, GenerationSpec } from '../../src/domain/index.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { pixels, spec, unit } from './helpers.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny');
const CASES = (JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { cases: { name: string; request: Record<string, unknown>; expected: string[] }[] })
  .cases;
const fused = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, fusedStep: 'on' });
const separate = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, fusedStep: 'off' });
let model: BaseModelFiles;
let controlnets: Map<string, string>;

beforeAll(async () => {
  const catalog = await scanModels(join(DIR, 'models'));
  model = catalog.models.get('sd-tiny')!;
  controlnets = catalog.controlnets.get('sd-tiny')!;
});
afterAll(async () => {
  await Promise.all([fused.release(), separate.release()]);
});

async function jobOf(name: string): Promise<GenerationSpec> {
  const r = CASES.find((c) => c.name === name)!.request;
  const names = String(r.controlnet_model).split(',');
  const scales = String(r.controlnet_conditioning_scale ?? '1')
    .split(',')
    .map(Number);
  const files = (r.control_images as string[] | undefined) ?? [String(r.control_image)];
  const images = await Promise.all(files.map((p) => decodeToRgb(readFileSync(join(DIR, p)), 1 << 20)));
  const units = names.map((n, k) => unit(n, controlnets.get(n)!, { type: n, conditioningScale: scales[k] ?? scales[0]!, image: images[k]! }));
  return spec(model, units, {
    autoHint: false,
    guessMode: r.guess_mode === 'yes',
    prompt: String(r.prompt),
    negativePrompt: String(r.negative_prompt ?? ''),
    width: Number(r.width),
    height: Number(r.height),
    steps: Number(r.num_inference_steps),
    guidanceScale: Number(r.guidance_scale),
    scheduler: String(r.scheduler),
    seed: BigInt(r.seed as number),
  });
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('fused step on the sd-tiny parity export', () => {
  for (const name of ['multi-controlnet', 'guess-mode', 'scale-0.5']) {
    it(`${name}: the separate sessions' image within 1/255`, async () => {
      const job = await jobOf(name);
      const a = await generate(job, fused);
      const b = await generate(job, separate);
      expect([a.stepGraph, b.stepGraph]).toEqual(['fused', 'separate']);
      expect(a.warnings.join(' ')).not.toMatch(/FUSED_STEP/);
      const [pa, pb] = [await pixels(a.images[0]!), await pixels(b.images[0]!)];
      expect(maxDiff(pa, pb)).toBeLessThanOrEqual(1);
      const expected = await pixels(readFileSync(join(DIR, CASES.find((c) => c.name === name)!.expected[0]!)));
      expect(maxDiff(pa, expected)).toBeLessThanOrEqual(maxDiff(pb, expected) + 1);
    });
  }
});
