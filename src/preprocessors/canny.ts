import type { RawImage } from '../image/types.js';
import { cannyEdges } from './canny-edges.js';
import { mapToOutput, resizeForDetection } from './resize.js';
import { toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { readCannyThresholds, readDetectResolution } from './validate.js';

/**
 * controlnet_aux's CannyDetector: RGB at the detect resolution, OpenCV Canny without blurring, white edges on
 * black resized bilinearly to the output size. Also the hint of aesthetic-controlnet, trained on canny maps.
 */
export async function cannyHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const { low, high } = readCannyThresholds(options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const edges = cannyEdges(detect, low, high);
  return { image: await mapToOutput(edges, detect.width, detect.height, options.width, options.height) };
}
