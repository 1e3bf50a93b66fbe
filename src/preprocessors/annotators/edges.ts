import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { annotatorMissing, firstInstalled } from '../model-based.js';
import { mapToOutput, resizeForDetection, resizeImage } from '../resize.js';
import { toRgb } from '../rgb.js';
import type { Hint, HintOptions } from '../types.js';
import { readDetectResolution } from '../validate.js';
import { resizePlane } from './float-resize.js';
import { unitToBytes } from './maps.js';
import { imageInput, imageTensor, modelSize, RAW, runImage, toPlanes, UNIT, type PixelNorm } from './model-io.js';

/** The image at the graph's size (the detect size unless the graph fixes one) as its input tensor. */
async function feed(detect: RawImage, session: InferenceSession, what: string, norm: PixelNorm, multiple: number) {
  const input = imageInput(session, what);
  const size = modelSize(input, detect.width, detect.height, multiple);
  const fed = await resizeImage(detect, size.width, size.height, 'cubic');
  return runImage(session, input, imageTensor(fed, input, norm));
}

/**
 * controlnet_aux's HEDdetector (ControlNetHED_Apache2, RGB 0..255 in): its five side projections
 * (full size down to 1/16) each resized bilinearly to the detect size, averaged, through a sigmoid,
 * as 0..255.
 */
export async function hedEdges(detect: RawImage, session: InferenceSession): Promise<Uint8Array> {
  const outputs = await feed(detect, session, 'hed', RAW, 16);
  const { width: w, height: h } = detect;
  const n = w * h;
  const sum = new Float64Array(n);
  const resized = new Float32Array(n);
  for (const output of outputs) {
    const p = toPlanes(output, 'hed');
    const plane = resizePlane(p.data.subarray(0, p.width * p.height), p.width, p.height, w, h, 'linear', resized);
    for (let i = 0; i < n; i++) sum[i] += plane[i];
  }
  const edge = new Float32Array(n);
  const count = outputs.length;
  for (let i = 0; i < n; i++) edge[i] = 1 / (1 + Math.exp(-sum[i] / count));
  return unitToBytes(edge);
}

/** controlnet_aux's PidiNetDetector: BGR in [0, 1] through PiDiNet, its last (fused, sigmoid) output as 0..255. */
export async function pidinetEdges(detect: RawImage, session: InferenceSession): Promise<Uint8Array> {
  const outputs = await feed(detect, session, 'pidinet', { ...UNIT, bgr: true }, 16);
  const p = toPlanes(outputs[outputs.length - 1], 'pidinet');
  const edge = resizePlane(p.data.subarray(0, p.width * p.height), p.width, p.height, detect.width, detect.height, 'linear');
  return unitToBytes(edge);
}

const EDGE_DETECTORS: Readonly<Record<string, (detect: RawImage, session: InferenceSession) => Promise<Uint8Array>>> = {
  hed: hedEdges,
  pidinet: pidinetEdges,
};

/** A soft-edge hint from the first installed of `annotators`: white edges on black at the output size. */
function softEdgeHint(hintType: string, annotators: readonly string[]) {
  return async (image: RawImage, options: HintOptions): Promise<Hint> => {
    const found = await firstInstalled(options, annotators);
    if (found === null) throw annotatorMissing(hintType, annotators[0], options);
    const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
    const edges = await EDGE_DETECTORS[found.name](detect, found.session);
    return { image: await mapToOutput(edges, detect.width, detect.height, options.width, options.height) };
  };
}

/** The hed ControlNets' hint: HED only. */
export const hedHint = softEdgeHint('hed', ['hed']);
/** The softedge ControlNet's hint: PiDiNet (its default preprocessor), else HED. */
export const softedgeHint = softEdgeHint('softedge', ['pidinet', 'hed']);
