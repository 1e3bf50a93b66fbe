/**
 * Runs an exported safety checker: `clip_input [b,3,224,224]` → `image_embeds [b,P]` (CLIP vision tower, pooled,
 * visual_projection), then diffusers' rule (./rule.ts) against concepts.json. Used by the generation pipeline
 * (after decode) and by the nsfw_image_check endpoint.
 */
import { promises as fs } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import type { RawImage } from '../image/types.js';
import { floatTensor, toFloat32, type FloatType } from '../runtime/tensors.js';
import { clipInput } from './clip-input.js';
import { parseConcepts, safetyVerdict, type SafetyVerdict } from './rule.js';

export interface SafetyCheckerSignature {
  input: string;
  output: string;
  floatType: FloatType;
  /** The square input side (224 for SD's checker). */
  size: number;
}

/** One float 4-D input (a fixed or dynamic square side; 224 when dynamic), the first output as the embeds. */
export function safetyCheckerSignature(session: ort.InferenceSession): SafetyCheckerSignature {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  if (!input?.isTensor || !output?.isTensor || input.shape.length !== 4 || session.inputNames.length !== 1) {
    throw new Error('safety checker: expected one 4-D input (clip_input) and an image_embeds output');
  }
  const side = input.shape[3];
  return {
    input: input.name,
    output: output.name,
    floatType: input.type === 'float16' ? 'float16' : 'float32',
    size: typeof side === 'number' && side > 0 ? side : 224,
  };
}

/** Verdicts for images, in order (run one at a time, as a fixed batch-1 export needs). */
export async function checkImages(
  session: ort.InferenceSession,
  signature: SafetyCheckerSignature,
  conceptsPath: string,
  images: readonly RawImage[],
  run: (feeds: Record<string, ort.Tensor>) => Promise<Record<string, ort.Tensor>> = (feeds) => session.run(feeds),
): Promise<SafetyVerdict[]> {
  const concepts = parseConcepts(JSON.parse(await fs.readFile(conceptsPath, 'utf8')), null);
  const verdicts: SafetyVerdict[] = [];
  for (const image of images) {
    const feeds = { [signature.input]: floatTensor(signature.floatType, clipInput(image, signature.size), [1, 3, signature.size, signature.size]) };
    const embeds = toFloat32((await run(feeds))[signature.output]!);
    verdicts.push(safetyVerdict(embeds, concepts));
  }
  return verdicts;
}

/** A black image of the same size (what diffusers returns for a flagged image). */
export function blankLike(image: RawImage): RawImage {
  return { data: new Uint8Array(image.data.length), width: image.width, height: image.height, channels: image.channels };
}
