import type { RawImage } from '../image/types.js';
import type { HintOptions } from '../preprocessors/types.js';

/** A hint preview (the detect endpoint), computed on the worker where the annotator sessions live. */
export interface HintRequest {
  type: string;
  image: RawImage;
  options: Omit<HintOptions, 'annotators' | 'lineDetector'>;
}

export type HintReply = { ok: true; image: RawImage; minusOneMask?: Uint8Array } | { ok: false; message: string; clientError: boolean };
