import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { annotatorMissing, firstInstalled } from '../model-based.js';
import { mapToOutput, resizeForDetection, resizeImage } from '../resize.js';
import { toRgb } from '../rgb.js';
import type { Hint, HintOptions } from '../types.js';
import { readDetectResolution } from '../validate.js';
import { resizePlane } from './float-resize.js';
import { minMaxToBytes } from './maps.js';
import { IMAGENET, imageInput, imageTensor, modelSize, runImage, SIGNED_UNIT, toPlanes, type PixelNorm } from './model-io.js';

/** How each depth network is fed: MiDaS as controlnet_aux feeds it (x / 127.5 - 1), Depth Anything with ImageNet statistics. */
const DEPTH_MODELS: Readonly<Record<string, { norm: PixelNorm; multiple: number }>> = {
  midas: { norm: SIGNED_UNIT, multiple: 32 },
  depth_anything: { norm: IMAGENET, multiple: 14 },
};

/** Depth annotators in order of preference: the depth ControlNets were trained on MiDaS. */
export const DEPTH_ANNOTATORS = Object.freeze(Object.keys(DEPTH_MODELS));

/**
 * The network's raw relative depth (larger = nearer) at the size of `detect`. A graph with a fixed input
 * size gets the image resized to it and its output resized back (bilinear).
 */
export async function rawDepth(detect: RawImage, session: InferenceSession, annotator: string): Promise<Float32Array> {
  const model = DEPTH_MODELS[annotator];
  if (model === undefined) throw new Error(`unknown depth annotator ${annotator}`);
  const input = imageInput(session, annotator);
  const size = modelSize(input, detect.width, detect.height, model.multiple);
  const fed = await resizeImage(detect, size.width, size.height, 'cubic');
  const [output] = await runImage(session, input, imageTensor(fed, input, model.norm));
  const depth = toPlanes(output, annotator);
  const first = depth.data.subarray(0, depth.width * depth.height);
  return resizePlane(first, depth.width, depth.height, detect.width, detect.height, 'linear');
}

/** The depth session (MiDaS, else Depth Anything), or AnnotatorMissingError naming MiDaS. */
export async function depthSession(hintType: string, options: HintOptions): Promise<{ name: string; session: InferenceSession }> {
  const found = await firstInstalled(options, DEPTH_ANNOTATORS);
  if (found === null) throw annotatorMissing(hintType, DEPTH_ANNOTATORS[0], options);
  return found;
}

/**
 * controlnet_aux's MidasDetector: the image at the detect resolution through the depth network, the
 * depth min-max normalised to 0..255, resized bilinearly to the output size.
 */
export async function depthHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const { name, session } = await depthSession('depth', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const depth = await rawDepth(detect, session, name);
  return { image: await mapToOutput(minMaxToBytes(depth), detect.width, detect.height, options.width, options.height) };
}
