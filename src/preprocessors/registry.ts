import type { RawImage } from '../image/types.js';
import { depthHint } from './annotators/depth.js';
import { hedHint, softedgeHint } from './annotators/edges.js';
import { faceHint } from './annotators/face/face.js';
import { lineartHint } from './annotators/lineart.js';
import { normalHint } from './annotators/normal.js';
import { openposeHint } from './annotators/openpose/openpose.js';
import { segmentationHint } from './annotators/segmentation.js';
import { cannyHint } from './canny.js';
import { HintError } from './errors.js';
import { inpaintHint } from './inpaint.js';
import { mlsdHint } from './mlsd.js';
import { MODEL_ANNOTATORS } from './model-based.js';
import { scribbleHint } from './scribble.js';
import { shuffleHint } from './shuffle.js';
import { tileHint } from './tile.js';
import type { Hint, HintOptions, HintProducer } from './types.js';
import { checkImage, numberOption } from './validate.js';

export { AnnotatorMissingError, HintError } from './errors.js';
export type { AnnotatorSessions, Hint, HintOptions, HintProducer } from './types.js';
export type { LineDetector, LineSegment } from './lsd/types.js';

/** The contract's `controlnet_type` values, in its order. */
export const HINT_TYPES: readonly string[] = Object.freeze([
  'canny',
  'depth',
  'hed',
  'mlsd',
  'normal',
  'openpose',
  'scribble',
  'segmentation',
  'aesthetic-controlnet',
  'inpaint',
  'softedge',
  'lineart',
  'shuffle',
  'tile',
  'face_detector',
]);

const PRODUCERS: ReadonlyMap<string, HintProducer> = new Map<string, HintProducer>([
  ['canny', cannyHint],
  // The aesthetic ControlNet was trained on canny maps.
  ['aesthetic-controlnet', cannyHint],
  ['mlsd', mlsdHint],
  ['scribble', scribbleHint],
  ['shuffle', shuffleHint],
  ['tile', tileHint],
  ['inpaint', inpaintHint],
  ['depth', depthHint],
  ['normal', normalHint],
  ['hed', hedHint],
  ['softedge', softedgeHint],
  ['lineart', lineartHint],
  ['segmentation', segmentationHint],
  ['openpose', openposeHint],
  ['face_detector', faceHint],
]);

/** Hint types computed in TypeScript without model weights. */
export const PURE_HINT_TYPES: readonly string[] = Object.freeze(HINT_TYPES.filter((t) => !(t in MODEL_ANNOTATORS)));

const MAX_SIDE = 16384;

/**
 * The hint that a ControlNet of `type` expects, computed from `image` (`auto_hint: "yes"`): RGB at
 * options.width × options.height. Throws HintError for bad input and AnnotatorMissingError for model-based
 * types whose network is not installed.
 */
export async function makeHint(type: string, image: RawImage, options: HintOptions): Promise<Hint> {
  const key = typeof type === 'string' ? type.trim().toLowerCase() : '';
  const producer = PRODUCERS.get(key);
  if (producer === undefined) {
    throw new HintError(`unknown controlnet_type "${String(type)}"; valid types: ${HINT_TYPES.join(', ')}`);
  }
  checkImage(image, 'image');
  for (const field of ['width', 'height'] as const) {
    if (options[field] === undefined) throw new HintError(`${field} (the output size) is required`);
    numberOption(options[field], field, 0, 1, MAX_SIDE, true);
  }
  return producer(image, options);
}
