import type { RawImage } from '../image/types.js';
import { resizeImage } from './resize.js';
import { toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { numberOption } from './validate.js';

/**
 * The tile ControlNet's usual preprocessing: the image at the output size scaled down by `tileRate`
 * (Lanczos, anti-aliased) and back up (bicubic), so fine detail is gone and the model invents it anew.
 */
export async function tileHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const rate = numberOption(options.tileRate, 'tileRate', 2, 1, 64);
  const { width, height } = options;
  const rgb = toRgb(image);
  const small = await resizeImage(rgb, Math.max(1, Math.round(width / rate)), Math.max(1, Math.round(height / rate)), 'lanczos3');
  return { image: await resizeImage(small, width, height, 'cubic') };
}
