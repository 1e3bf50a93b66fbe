import type { RawImage } from '../image/types.js';
import { contentShuffle } from './content-shuffle.js';
import { randomSeed, seededRandom } from './prng.js';
import { resizeForDetection, resizeImage } from './resize.js';
import { toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { numberOption, readDetectResolution } from './validate.js';

/** Content shuffle at the detect resolution, seeded by `options.seed`, resized bilinearly to the output. */
export async function shuffleHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const seed = numberOption(options.seed, 'seed', randomSeed(), 0, Number.MAX_SAFE_INTEGER, true);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const shuffled = contentShuffle(detect, seededRandom(seed));
  return { image: await resizeImage(shuffled, options.width, options.height, 'linear') };
}
