import type { RawImage } from '../../image/types.js';
import { requireAnnotator } from '../model-based.js';
import { mapToOutput, resizeForDetection, resizeImage } from '../resize.js';
import { toRgb } from '../rgb.js';
import type { Hint, HintOptions } from '../types.js';
import { readDetectResolution } from '../validate.js';
import { resizePlane } from './float-resize.js';
import { unitToBytes } from './maps.js';
import { imageInput, imageTensor, modelSize, runImage, toPlanes, UNIT } from './model-io.js';

/**
 * controlnet_aux's LineartDetector: RGB in [0, 1] through the lineart generator, its [0, 1] output as
 * 0..255, resized bilinearly to the output size, then inverted (1 − x): black lines on white become
 * white lines on black, as control_v11p_sd15_lineart expects.
 */
export async function lineartHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const session = await requireAnnotator('lineart', 'lineart', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const input = imageInput(session, 'lineart');
  const size = modelSize(input, detect.width, detect.height, 8);
  const fed = await resizeImage(detect, size.width, size.height, 'cubic');
  const [output] = await runImage(session, input, imageTensor(fed, input, UNIT));
  const p = toPlanes(output, 'lineart');
  const line = resizePlane(p.data.subarray(0, p.width * p.height), p.width, p.height, detect.width, detect.height, 'linear');
  const hint = await mapToOutput(unitToBytes(line), detect.width, detect.height, options.width, options.height);
  const data = hint.data;
  for (let i = 0; i < data.length; i++) data[i] = 255 - data[i];
  return { image: hint };
}
