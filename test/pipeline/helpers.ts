/** Building blocks of the generate() tests: a spec on given model files, decoded output pixels, image distances. */
import sharp from 'sharp';
import type { RawImage } from '../../src/image/types.js';
import type { BaseModelFiles, ControlUnit, GenerationSpec } from '../../src/domain/index.js';
import { testPicture } from '../helpers/images.js';

export function testImage(width = 64, height = 64): RawImage {
  return { data: new Uint8Array(testPicture(width, height)), width, height, channels: 3 };
}

export function unit(name: string, modelPath: string, overrides: Partial<ControlUnit> = {}): ControlUnit {
  return { name, type: 'canny', modelPath, conditioningScale: 1, image: testImage(), ...overrides };
}

/** A small, fast txt2img job: 64x64, 2 DDIM steps (integer timesteps), CFG 7.5, seed 42. */
export function spec(model: BaseModelFiles, controlnets: ControlUnit[], overrides: Partial<GenerationSpec> = {}): GenerationSpec {
  return {
    id: '1',
    model,
    controlnets,
    autoHint: true,
    guessMode: false,
    prompt: 'a red house by the sea',
    negativePrompt: '',
    initImage: null,
    maskImage: null,
    strength: 1,
    width: 64,
    height: 64,
    samples: 1,
    steps: 2,
    guidanceScale: 7.5,
    scheduler: 'DDIMScheduler',
    useKarrasSigmas: false,
    algorithmType: null,
    seed: 42n,
    hint: { detectResolution: 64, lowThreshold: 100, highThreshold: 200 },
    ...overrides,
  };
}

export async function pixels(png: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).raw().toBuffer());
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}
