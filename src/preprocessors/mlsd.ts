import type { RawImage } from '../image/types.js';
import { installedMlsdDetector } from './annotators/mlsd-network.js';
import { drawLine } from './draw-line.js';
import { classicalLineDetector } from './lsd/classical-detector.js';
import { mapToOutput, resizeForDetection } from './resize.js';
import { toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { numberOption, readDetectResolution } from './validate.js';

/**
 * controlnet_aux's MLSDdetector output: the straight segments found at the detect resolution, drawn as
 * 1-px white lines on black (ends truncated to integers as its `int(val)`), resized bilinearly. The
 * segments come from `options.lineDetector`, else the M-LSD network when `models/annotators/mlsd/model.onnx`
 * is installed, else the classical LSD.
 */
export async function mlsdHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const thrV = numberOption(options.thrV, 'thrV', 0.1, 0, 1);
  const thrD = numberOption(options.thrD, 'thrD', 0.1, 0, 100_000);
  const detector = options.lineDetector ?? (await installedMlsdDetector(options)) ?? classicalLineDetector;
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const { width: w, height: h } = detect;
  const canvas = new Uint8Array(w * h);
  for (const s of await detector.detect(detect, { thrV, thrD })) {
    drawLine(canvas, w, h, Math.trunc(s.x1), Math.trunc(s.y1), Math.trunc(s.x2), Math.trunc(s.y2), 255);
  }
  return { image: await mapToOutput(canvas, w, h, options.width, options.height) };
}
