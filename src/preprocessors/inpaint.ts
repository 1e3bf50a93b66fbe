import type { RawImage } from '../image/types.js';
import { HintError } from './errors.js';
import { resizeImage } from './resize.js';
import { pilLuma, toRgb } from './rgb.js';
import type { Hint, HintOptions } from './types.js';
import { checkImage } from './validate.js';

/**
 * diffusers' `make_inpaint_condition`: the hint is the image itself, and the pixels the mask marks for
 * repainting (luma / 255 > 0.5 after PIL's convert("L")) become -1 in the control tensor, returned here
 * as `minusOneMask`. Image and mask are resized to the output size first.
 */
export async function inpaintHint(image: RawImage, options: HintOptions): Promise<Hint> {
  if (options.mask === undefined) {
    throw new HintError('controlnet_type "inpaint" needs a mask (mask_image): white marks the area to repaint');
  }
  checkImage(options.mask, 'mask');
  const { width, height } = options;
  const hint = await resizeImage(toRgb(image), width, height, 'lanczos3');
  const mask = options.mask;
  const luma = await resizeImage({ data: pilLuma(mask), width: mask.width, height: mask.height, channels: 1 }, width, height, 'linear');
  const minusOneMask = new Uint8Array(width * height);
  // float32(L) / 255 > 0.5 holds from L = 128 on.
  for (let i = 0; i < minusOneMask.length; i++) minusOneMask[i] = luma.data[i] >= 128 ? 1 : 0;
  return { image: hint, minusOneMask };
}
