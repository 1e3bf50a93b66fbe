/**
 * LoRA on an SDXL model over HTTP, on the torch-exported sdxl-tiny parity model: a kohya LoRA on the UNet and both
 * text encoders (`lora_unet_`, `lora_te1_`, `lora_te2_`, alpha) and a PEFT LoRA on the second text encoder only
 * (`text_encoder_2.…`, `text_projection` included) equal diffusers 0.27.2's StableDiffusionXLControlNetPipeline
 * with the same LoRA fused (test/fixtures/lora-sdxl, make-lora-parity.py --family sdxl) within 1/255; strength 0
 * gives exactly the image without LoRA; second-encoder keys count as matched, and one that matches nothing is
 * named in `warnings`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/weights/safetensors.js';
import { startTestServer } from '../helpers/server.js';
import { type FixtureCase, fixtureBody, fixtureCases, generateOk, maxPixelDiff as maxDiff, rgbPixels as pixels } from '../helpers/parity-requests.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'lora-sdxl');
const PARITY_MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sdxl-tiny', 'models', 'sdxl-tiny');
const root = mkdtempSync(path.join(tmpdir(), 'lora-sdxl-'));
let server: Awaited<ReturnType<typeof startTestServer>>;

type LoraCase = FixtureCase;
const cases = fixtureCases<LoraCase>(FIXTURE);
const byName = (n: string) => cases.find((c) => c.name === n)!;

beforeAll(async () => {
  symlinkSync(PARITY_MODEL, path.join(root, 'sdxl-tiny'));
  mkdirSync(path.join(root, 'lora'));
  for (const f of ['sdxl_kohya', 'sdxl_te2_peft']) copyFileSync(path.join(FIXTURE, 'lora', `${f}.safetensors`), path.join(root, 'lora', `${f}.safetensors`));
  // Only second-encoder keys (kohya): two that match (a 32x32 attention projection, the 32x32 text_projection) and one that does not.
  // Not constant: LayerNorm'd inputs sum to about 0, so a constant down vector would change nothing.
  const ramp = Float32Array.from({ length: 32 }, (_, i) => ((i % 7) - 3) * 0.2);
  const down = { dtype: 'F32' as const, shape: [1, 32], data: ramp };
  const up = { dtype: 'F32' as const, shape: [32, 1], data: ramp };
  const pair = (key: string) => ({ [`${key}.lora_down.weight`]: down, [`${key}.lora_up.weight`]: up });
  writeFileSync(
    path.join(root, 'lora', 'te2_partial.safetensors'),
    encodeSafetensors({
      ...pair('lora_te2_text_model_encoder_layers_1_self_attn_k_proj'),
      ...pair('lora_te2_text_projection'),
      ...pair('lora_te2_text_model_encoder_layers_9_self_attn_k_proj'),
    }),
  );
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'sdxl-tiny' });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const body = (c: FixtureCase, extra: Record<string, unknown> = {}) => fixtureBody(FIXTURE, c, extra);

const generate = (payload: Record<string, unknown>) => generateOk(server.app, payload);

describe('LoRA on SDXL (both text encoders)', () => {
  for (const name of ['lora-kohya', 'lora-te2-peft']) {
    it(`${name}: equals diffusers with the LoRA fused, within 1/255, every layer matched`, async () => {
      const c = byName(name);
      const res = await generate(body(c));
      expect(res.meta.family).toBe('sdxl');
      const got = await pixels(Buffer.from(res.output[0]!, 'base64'));
      const want = await pixels(readFileSync(path.join(FIXTURE, c.expected[0]!)));
      const without = await pixels(readFileSync(path.join(FIXTURE, byName('lora-none').expected[0]!)));
      expect(maxDiff(got, want)).toBeLessThanOrEqual(1);
      expect(maxDiff(got, without)).toBeGreaterThan(3);
      expect(res.meta.lora_model).toBe(c.request.lora_model);
      expect(res.warnings ?? []).not.toContainEqual(expect.stringMatching(/^lora_model/));
    });
  }

  it('strength 0 gives exactly the image without LoRA', async () => {
    const none = await generate(body(byName('lora-none')));
    const zero = await generate(body(byName('lora-none'), { lora_model: 'sdxl_te2_peft', lora_strength: '0' }));
    expect(Buffer.from(zero.output[0]!, 'base64').equals(Buffer.from(none.output[0]!, 'base64'))).toBe(true);
  });

  it("counts second-encoder layers as matched and names the one that is not the model's", async () => {
    const res = await generate(body(byName('lora-none'), { lora_model: 'te2_partial' }));
    expect(res.warnings).toContainEqual(expect.stringMatching(/^lora_model: 1 of 3 layers of LoRA "te2_partial" match no weight of model sdxl-tiny/));
    const without = await pixels(readFileSync(path.join(FIXTURE, byName('lora-none').expected[0]!)));
    expect(maxDiff(await pixels(Buffer.from(res.output[0]!, 'base64')), without)).toBeGreaterThan(0);
  });
});
