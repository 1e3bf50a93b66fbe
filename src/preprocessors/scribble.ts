import type { RawImage } from '../image/types.js';
import { cannyEdges } from './canny-edges.js';
import { gaussianBlur } from './gaussian-blur.js';
import { mapToOutput, resizeForDetection } from './resize.js';
import { toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { readCannyThresholds, readDetectResolution } from './validate.js';

/**
 * Thick scribble lines from thin edges, as controlnet_aux's scribble post-processing does after its
 * "nms": blur with σ = 3 and keep everything above 4 (of 255). A 1-px line becomes 13 px wide;
 * an isolated edge pixel stays about 1 px, so texture specks fade while contours stay bold.
 */
export function thickenLines(edges: Uint8Array, w: number, h: number): Uint8Array {
  const blurred = gaussianBlur(Float32Array.from(edges), w, h, 3);
  const out = new Uint8Array(w * h);
  // The blur of an 8-bit image is rounded to 8 bits before the "> 4" test.
  for (let i = 0; i < out.length; i++) out[i] = blurred[i] >= 4.5 ? 255 : 0;
  return out;
}

/** Scribble hint without an edge network: canny edges at the detect resolution, thickened, white on black. */
export async function scribbleHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const { low, high } = readCannyThresholds(options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const lines = thickenLines(cannyEdges(detect, low, high), detect.width, detect.height);
  return { image: await mapToOutput(lines, detect.width, detect.height, options.width, options.height) };
}
