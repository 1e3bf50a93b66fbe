/**
 * The server's safety checker against diffusers' (test/fixtures/safety-checker/, scripts/reference/make-safety-checker.py):
 * CLIPImageProcessor's crop bit for bit and its normalised pixels, the exported tiny checker's image_embeds from
 * onnxruntime-node on the TS input, and StableDiffusionSafetyChecker.forward's has_nsfw_concept from the TS rule
 * (one image flagged only through the special-care adjustment).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { checkImages, safetyCheckerSignature } from '../../src/safety/checker.js';
import { clipCrop, clipInput } from '../../src/safety/clip-input.js';
import { parseConcepts, round3, safetyVerdict } from '../../src/safety/rule.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const DIR = join(FIXTURES, 'safety-checker');
const MODEL = join(DIR, 'safety_checker', 'model.onnx');
const CONCEPTS = join(DIR, 'safety_checker', 'concepts.json');

interface Case {
  name: string;
  image: string;
  crop_sha256: string;
  clip_input_sum: number;
  clip_input_samples: [number, number, number, number][];
  image_embeds: number[];
  special_cos: number[];
  concept_cos: number[];
  has_nsfw_concept: boolean;
}
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] };
const concepts = parseConcepts(JSON.parse(readFileSync(CONCEPTS, 'utf8')), 8);
const sessionP = ort.InferenceSession.create(MODEL);
afterAll(async () => (await sessionP).release());

async function load(file: string): Promise<RawImage> {
  const { data, info } = await sharp(join(FIXTURES, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

describe('safety checker, against diffusers 0.27.2', () => {
  it('has flagged and unflagged cases, one flagged only through the 0.01 adjustment', () => {
    expect(expected.cases.find((c) => c.name.startsWith('gradient'))?.has_nsfw_concept).toBe(true);
    const flags = expected.cases.map((c) => c.has_nsfw_concept);
    expect(flags).toContain(true);
    expect(flags).toContain(false);
  });

  for (const c of expected.cases) {
    it(`${c.name}: crop, clip_input, embeds and verdict`, async () => {
      const image = await load(c.image);
      const crop = clipCrop(image);
      expect(createHash('sha256').update(crop.data).digest('hex')).toBe(c.crop_sha256);
      const x = clipInput(image);
      for (const [ch, y, xx, v] of c.clip_input_samples) expect(x[ch * 224 * 224 + y * 224 + xx]).toBe(v);
      let sum = 0;
      for (const v of x) sum += v;
      expect(Math.abs(sum - c.clip_input_sum)).toBeLessThan(1e-6 * x.length);

      const session = await sessionP;
      const out = await session.run({ clip_input: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
      const embeds = out.image_embeds!.data as Float32Array;
      c.image_embeds.forEach((v, i) => expect(Math.abs(embeds[i]! - v)).toBeLessThan(1e-5));

      const verdict = safetyVerdict(embeds, concepts);
      expect(verdict.nsfw).toBe(c.has_nsfw_concept);
      expect(safetyVerdict(c.image_embeds, concepts).nsfw).toBe(c.has_nsfw_concept);
      // The scores are diffusers' round(cos − threshold + adjustment, 3) of its float32 cosines.
      const adjustment = c.special_cos.some((cos, j) => round3(cos - Math.fround(concepts.special_care_embeds_weights[j]!)) > 0) ? 0.01 : 0;
      c.concept_cos.forEach((cos, j) =>
        expect(verdict.conceptScores[j]).toBeCloseTo(round3(cos - Math.fround(concepts.concept_embeds_weights[j]!) + adjustment), 3),
      );
      if (c.name.startsWith('gradient')) {
        // Special-care hit → concept 1's 1 − 1.005 becomes 0.005.
        expect(verdict.specialScores[0]).toBeGreaterThan(0);
        expect(verdict.badConcepts).toContain(1);
        expect(verdict.conceptScores[1]).toBe(0.005);
        // Without the special-care hit nothing fires for this image.
        expect(safetyVerdict(embeds, { ...concepts, special_care_embeds_weights: [2, 2, 2] }).nsfw).toBe(false);
      }

      const [viaChecker] = await checkImages(session, safetyCheckerSignature(session), CONCEPTS, [image]);
      expect(viaChecker!.nsfw).toBe(c.has_nsfw_concept);
    });
  }

  it("round3 is numpy's round(x, 3): ties to even on the scaled value", () => {
    expect([round3(0.0005), round3(0.0015), round3(0.0025), round3(-0.0005), round3(0.00051)]).toEqual([0, 0.002, 0.002, -0, 0.001]);
  });
});
