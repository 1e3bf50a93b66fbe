import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../../../image/types.js';
import { requireAnnotator } from '../../model-based.js';
import { resizeForDetection, resizeImage } from '../../resize.js';
import { toRgb } from '../../rgb.js';
import type { Hint, HintOptions } from '../../types.js';
import { readDetectResolution } from '../../validate.js';
import { LazyResize, resizePlanes, type FloatInterpolation } from '../float-resize.js';
import { imageInput, imageTensor, runImage, toPlanes, type Planes } from '../model-io.js';
import { assembleBodies, findPeaks, type Body } from './body.js';
import { drawBodyPose } from './draw-pose.js';
import { BODY_PARTS } from './skeleton.js';

/** controlnet_aux's Body: one scale, 0.5 · 368 px of height; the network's stride; padding grey. */
const BOX_SIZE = 368;
const SCALE_SEARCH = 0.5;
const STRIDE = 8;
const PAD_VALUE = 128;
const HEATMAPS = 19;
const PAFS = 38;

/** OpenPose's `smart_resize`: area when shrinking (by the sum of the sides), Lanczos-4 when enlarging. */
function smartKind(fromW: number, fromH: number, toW: number, toH: number): FloatInterpolation {
  return (toW + toH) / (fromW + fromH) < 1 ? 'area' : 'lanczos4';
}

/** The RGB image resized channel by channel as float planes, rounded back to 8 bits (as cv2 on uint8). */
function resizeRgb(rgb: RawImage, w: number, h: number): RawImage {
  const n = rgb.width * rgb.height;
  const planes = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) planes[c * n + i] = rgb.data[i * 3 + c];
  const resized = resizePlanes(planes, 3, rgb.width, rgb.height, w, h, smartKind(rgb.width, rgb.height, w, h));
  const m = w * h;
  const data = new Uint8Array(m * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < m; i++) data[i * 3 + c] = Math.round(resized[c * m + i]);
  return { data, width: w, height: h, channels: 3 };
}

/** Pads right and bottom to multiples of the stride with grey, as `padRightDownCorner`. */
function padToStride(rgb: RawImage): { padded: RawImage; padRight: number; padDown: number } {
  const padRight = (STRIDE - (rgb.width % STRIDE)) % STRIDE;
  const padDown = (STRIDE - (rgb.height % STRIDE)) % STRIDE;
  if (padRight === 0 && padDown === 0) return { padded: rgb, padRight, padDown };
  const w = rgb.width + padRight;
  const h = rgb.height + padDown;
  const data = new Uint8Array(w * h * 3).fill(PAD_VALUE);
  for (let y = 0; y < rgb.height; y++) data.set(rgb.data.subarray(y * rgb.width * 3, (y + 1) * rgb.width * 3), y * w * 3);
  return { padded: { data, width: w, height: h, channels: 3 }, padRight, padDown };
}

interface PaddedGeometry {
  w: number;
  h: number;
  padRight: number;
  padDown: number;
}

/** A map of the network (at 1/8 of the padded input) enlarged 8× and with the padding cropped (CHW). */
function unpadded(map: Planes, channels: number, padded: PaddedGeometry): { data: Float32Array; width: number; height: number } {
  const upW = map.width * STRIDE;
  const upH = map.height * STRIDE;
  const up = resizePlanes(map.data.subarray(0, channels * map.width * map.height), channels, map.width, map.height, upW, upH, 'lanczos4');
  const cropW = Math.min(upW, padded.w - padded.padRight);
  const cropH = Math.min(upH, padded.h - padded.padDown);
  if (cropW === upW && cropH === upH) return { data: up, width: upW, height: upH };
  const cropped = new Float32Array(channels * cropW * cropH);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < cropH; y++) cropped.set(up.subarray((c * upH + y) * upW, (c * upH + y) * upW + cropW), (c * cropH + y) * cropW);
  }
  return { data: cropped, width: cropW, height: cropH };
}

/**
 * controlnet_aux's Body.__call__: the detect image scaled to 184 px of height (BGR, x / 256 − 0.5, padded
 * to multiples of 8), heatmaps and PAFs back at the detect size, peaks, limbs, people. A graph with a
 * fixed input size gets the image resized to that size instead.
 */
export async function detectBodies(detect: RawImage, session: InferenceSession): Promise<Body[]> {
  const input = imageInput(session, 'openpose');
  const { width: W, height: H } = detect;
  let scaled: RawImage;
  if (input.width !== null && input.height !== null) {
    scaled = resizeRgb(detect, input.width, input.height);
  } else {
    const scale = (SCALE_SEARCH * BOX_SIZE) / H;
    scaled = resizeRgb(detect, Math.trunc(W * scale), Math.trunc(H * scale));
  }
  const { padded, padRight, padDown } = padToStride(scaled);
  const norm = { mean: [PAD_VALUE, PAD_VALUE, PAD_VALUE], std: [256, 256, 256], bgr: true } as const;
  const outputs = (await runImage(session, input, imageTensor(padded, input, norm))).map((t) => toPlanes(t, 'openpose'));
  const heatmap = outputs.find((p) => p.channels === HEATMAPS);
  const paf = outputs.find((p) => p.channels === PAFS);
  if (heatmap === undefined || paf === undefined) {
    throw new Error(`openpose annotator: expected outputs with ${PAFS} (PAF) and ${HEATMAPS} (heatmap) channels`);
  }
  const geometry = { w: padded.width, h: padded.height, padRight, padDown };
  // Heatmaps are searched everywhere, so they are resized whole; PAFs are read only along candidate
  // limbs, so each value is resized where it is read.
  const heat = unpadded(heatmap, BODY_PARTS, geometry);
  const heatFull = resizePlanes(heat.data, BODY_PARTS, heat.width, heat.height, W, H, smartKind(heat.width, heat.height, W, H));
  const pafs = unpadded(paf, PAFS, geometry);
  const pafAt = new LazyResize(pafs.data, pafs.width, pafs.height, W, H, smartKind(pafs.width, pafs.height, W, H));
  return assembleBodies(findPeaks(heatFull, W, H), (c, x, y) => pafAt.at(c, x, y), H);
}

/** The people as controlnet_aux draws them: on black, at the detect size. */
export function drawBodies(bodies: readonly Body[], w: number, h: number): RawImage {
  const canvas = { data: new Uint8Array(w * h * 3), width: w, height: h };
  for (const body of bodies) {
    drawBodyPose(
      canvas,
      body.keypoints.map((p) => (p === null ? null : { x: p.x / w, y: p.y / h })),
    );
  }
  return { ...canvas, channels: 3 };
}

/**
 * controlnet_aux's OpenposeDetector (body only, its default): the standard 18-keypoint coloured stick
 * figures of every person found, resized bilinearly to the output size.
 */
export async function openposeHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const session = await requireAnnotator('openpose', 'openpose', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const bodies = await detectBodies(detect, session);
  return { image: await resizeImage(drawBodies(bodies, detect.width, detect.height), options.width, options.height, 'linear') };
}
