import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../../../image/types.js';
import { requireAnnotator } from '../../model-based.js';
import { resizeForDetection, resizeImage } from '../../resize.js';
import { toRgb } from '../../rgb.js';
import type { Hint, HintOptions } from '../../types.js';
import { readDetectResolution } from '../../validate.js';
import { imageInput, imageTensor, runImage, UNIT } from '../model-io.js';
import { fillCircle, fillConvexPolygon, type Canvas } from '../openpose/draw.js';
import { FACE_CONTOURS, PUPILS } from './face-mesh.js';
import { toFloat32 } from '../../../runtime/tensors.js';

/** MediaPipe's face-landmark input size, used when the graph does not fix one. */
const MESH_SIZE = 192;
/** controlnet_aux's defaults: faces smaller than this (in detect pixels) are skipped; the presence threshold. */
const MIN_FACE_PIXELS = 64;
const MIN_CONFIDENCE = 0.5;
const LINE_THICKNESS = 2;

/** A landmark in [0, 1] image coordinates. */
export interface FaceLandmark {
  x: number;
  y: number;
}

/** cv2.line with thickness 2: a filled band of half-width 1 with round caps, as OpenCV's ThickLine. */
function thickLine(canvas: Canvas, x0: number, y0: number, x1: number, y1: number, rgb: readonly [number, number, number]): void {
  const half = LINE_THICKNESS / 2;
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len > 0) {
    const nx = (-(y1 - y0) / len) * half;
    const ny = ((x1 - x0) / len) * half;
    const corners: [number, number][] = [
      [Math.round(x0 + nx), Math.round(y0 + ny)],
      [Math.round(x1 + nx), Math.round(y1 + ny)],
      [Math.round(x1 - nx), Math.round(y1 - ny)],
      [Math.round(x0 - nx), Math.round(y0 - ny)],
    ];
    fillConvexPolygon(canvas, corners, rgb);
  }
  fillCircle(canvas, x0, y0, half, rgb);
  fillCircle(canvas, x1, y1, half, rgb);
}

/** MediaPipe's normalised → pixel conversion: floor, clamped to the last pixel; outside [0, 1] is not drawn. */
function toPixel(v: number, size: number): number | null {
  if (!(v >= 0 && v <= 1)) return null;
  return Math.min(Math.floor(v * size), size - 1);
}

/**
 * controlnet_aux's `generate_annotation` drawing for one face: the contours of the face oval, eyes,
 * eyebrows and lips 2 px wide, the pupils as 4×4 squares, on black (RGB).
 */
export function drawFace(canvas: Canvas, landmarks: readonly FaceLandmark[]): void {
  const { width: w, height: h } = canvas;
  for (const part of FACE_CONTOURS) {
    for (const chain of part.chains) {
      for (let i = 1; i < chain.length; i++) {
        const a = landmarks[chain[i - 1]];
        const b = landmarks[chain[i]];
        if (!a || !b) continue;
        const ax = toPixel(a.x, w);
        const ay = toPixel(a.y, h);
        const bx = toPixel(b.x, w);
        const by = toPixel(b.y, h);
        if (ax === null || ay === null || bx === null || by === null) continue;
        thickLine(canvas, ax, ay, bx, by, part.rgb);
      }
    }
  }
  for (const { index, rgb } of PUPILS) {
    const p = landmarks[index];
    if (!p || p.x < 0 || p.x >= 1 || p.y < 0 || p.y >= 1) continue;
    const cx = Math.trunc(w * p.x);
    const cy = Math.trunc(h * p.y);
    for (let y = Math.max(0, cy - 2); y < Math.min(h, cy + 2); y++) {
      for (let x = Math.max(0, cx - 2); x < Math.min(w, cx + 2); x++) canvas.data.set(rgb, (y * w + x) * 3);
    }
  }
}

/**
 * One face's landmarks from a face-mesh graph run on the whole detect image, letterboxed to a square
 * (MediaPipe pads to keep the aspect ratio); null when the graph's face score is below 0.5. The
 * landmark output is the one with 468 or more (x, y, z) triples, in input pixels; a single-value output
 * is the face-presence logit.
 */
export async function faceLandmarks(detect: RawImage, session: InferenceSession): Promise<FaceLandmark[] | null> {
  const input = imageInput(session, 'mediapipe_face');
  const size = input.width ?? MESH_SIZE;
  const side = Math.max(detect.width, detect.height);
  const scaled = await resizeImage(detect, Math.round((detect.width * size) / side), Math.round((detect.height * size) / side), 'linear');
  const square = new Uint8Array(size * size * 3);
  const padX = Math.floor((size - scaled.width) / 2);
  const padY = Math.floor((size - scaled.height) / 2);
  for (let y = 0; y < scaled.height; y++) {
    square.set(scaled.data.subarray(y * scaled.width * 3, (y + 1) * scaled.width * 3), ((y + padY) * size + padX) * 3);
  }
  const outputs = await runImage(session, input, imageTensor({ data: square, width: size, height: size, channels: 3 }, input, UNIT));
  let mesh: Float32Array | null = null;
  for (const output of outputs) {
    const values = toFloat32(output);
    if (values.length === 1 && 1 / (1 + Math.exp(-values[0])) < MIN_CONFIDENCE) return null;
    if (mesh === null && values.length >= 468 * 3 && values.length % 3 === 0) mesh = values;
  }
  if (mesh === null) throw new Error('mediapipe_face annotator: no output with 468 or more (x, y, z) landmarks');
  const points: FaceLandmark[] = [];
  const scale = side / size;
  for (let i = 0; i < mesh.length / 3; i++) {
    points.push({ x: ((mesh[i * 3] - padX) * scale) / detect.width, y: ((mesh[i * 3 + 1] - padY) * scale) / detect.height });
  }
  return points;
}

/** Whether the face spans at least 64 detect pixels both ways (controlnet_aux's min_face_size_pixels). */
function bigEnough(points: readonly FaceLandmark[], w: number, h: number): boolean {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of points) {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  return Math.min((maxX - minX) * w, (maxY - minY) * h) >= MIN_FACE_PIXELS;
}

/**
 * controlnet_aux's MediapipeFaceDetector (one face): the face-mesh contours drawn at the detect size,
 * resized bilinearly to the output size; black when no face is found. The face-mesh graph sees the
 * whole image (no separate face detector), so the face should fill a good part of it.
 */
export async function faceHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const session = await requireAnnotator('face_detector', 'mediapipe_face', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const { width: w, height: h } = detect;
  const canvas = { data: new Uint8Array(w * h * 3), width: w, height: h };
  const landmarks = await faceLandmarks(detect, session);
  if (landmarks !== null && bigEnough(landmarks, w, h)) drawFace(canvas, landmarks);
  return { image: await resizeImage({ ...canvas, channels: 3 }, options.width, options.height, 'linear') };
}
