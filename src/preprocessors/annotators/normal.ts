import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { annotatorMissing, firstInstalled } from '../model-based.js';
import { resizeForDetection, resizeImage } from '../resize.js';
import { toRgb } from '../rgb.js';
import type { Hint, HintOptions } from '../types.js';
import { readDetectResolution } from '../validate.js';
import { DEPTH_ANNOTATORS, rawDepth } from './depth.js';
import { resizePlanes } from './float-resize.js';
import { IMAGENET, imageInput, imageTensor, modelSize, runImage, toPlanes } from './model-io.js';

/** controlnet_aux's MiDaS normal: the z component before normalising, and the normalised depth below which x, y are 0. */
const DEPTH_NORMAL_A = Math.PI * 2;
const DEPTH_NORMAL_BG = 0.1;

/**
 * NormalBaeDetector: ImageNet-normalised RGB in [0, 1] through NormalBAE, the last output's first three
 * channels (x, y, z in [-1, 1]) mapped to ((n + 1) / 2) · 255 as RGB.
 */
export async function normalBaeMap(detect: RawImage, session: InferenceSession): Promise<RawImage> {
  const input = imageInput(session, 'normalbae');
  const size = modelSize(input, detect.width, detect.height, 32);
  const fed = await resizeImage(detect, size.width, size.height, 'cubic');
  const outputs = await runImage(session, input, imageTensor(fed, input, IMAGENET));
  // NNET returns its refinement steps in order; the last 3+ channel output is the final normal map.
  const planes = outputs
    .map((t) => toPlanes(t, 'normalbae'))
    .filter((p) => p.channels >= 3)
    .pop();
  if (planes === undefined) throw new Error('normalbae annotator: no output with 3 channels');
  const { width: w, height: h } = planes;
  const n = w * h;
  const rgb = resizePlanes(planes.data.subarray(0, 3 * n), 3, w, h, detect.width, detect.height, 'linear');
  const m = detect.width * detect.height;
  const out = new Uint8Array(m * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0, o = c; i < m; i++, o += 3) {
      const unit = Math.fround(Math.fround(rgb[c * m + i] + 1) * 0.5);
      out[o] = unit >= 1 ? 255 : unit > 0 ? Math.fround(unit * 255) : 0;
    }
  }
  return { data: out, width: detect.width, height: detect.height, channels: 3 };
}

function reflect101(i: number, size: number): number {
  if (size === 1) return 0;
  if (i < 0) return -i;
  if (i >= size) return 2 * size - 2 - i;
  return i;
}

/**
 * controlnet_aux's MiDaS `depth_and_normal`: 3×3 Sobel gradients of the raw depth as x and y, z = 2π,
 * x and y zeroed where the normalised depth is below 0.1 (background), the unit normal as
 * n · 127.5 + 127.5 in channel order (z, y, x).
 */
export function normalFromDepth(depth: Float32Array, w: number, h: number): RawImage {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < depth.length; i++) {
    if (depth[i] < min) min = depth[i];
    if (depth[i] > max) max = depth[i];
  }
  const range = Math.fround(max - min);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const up = reflect101(y - 1, h) * w;
    const mid = y * w;
    const down = reflect101(y + 1, h) * w;
    for (let x = 0; x < w; x++) {
      const l = reflect101(x - 1, w);
      const r = reflect101(x + 1, w);
      let gx = 0;
      let gy = 0;
      const near = range > 0 ? Math.fround(Math.fround(depth[mid + x] - min) / range) : NaN;
      if (near >= DEPTH_NORMAL_BG) {
        gx = Math.fround(depth[up + r] - depth[up + l] + 2 * (depth[mid + r] - depth[mid + l]) + depth[down + r] - depth[down + l]);
        gy = Math.fround(depth[down + l] - depth[up + l] + 2 * (depth[down + x] - depth[up + x]) + depth[down + r] - depth[up + r]);
      }
      const norm = Math.sqrt(gx * gx + gy * gy + DEPTH_NORMAL_A * DEPTH_NORMAL_A);
      const o = (mid + x) * 3;
      out[o] = toByte(DEPTH_NORMAL_A / norm);
      out[o + 1] = toByte(gy / norm);
      out[o + 2] = toByte(gx / norm);
    }
  }
  return { data: out, width: w, height: h, channels: 3 };
}

function toByte(unit: number): number {
  const v = Math.fround(Math.fround(unit) * 127.5 + 127.5);
  return v >= 255 ? 255 : v > 0 ? v : 0;
}

/**
 * The normal hint: NormalBAE when installed (what control_v11p_sd15_normalbae was trained on), else the
 * normal derived from MiDaS depth (the v1.0 normal ControlNet's annotator), else AnnotatorMissingError.
 */
export async function normalHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const found = await firstInstalled(options, ['normalbae', ...DEPTH_ANNOTATORS]);
  if (found === null) throw annotatorMissing('normal', 'normalbae', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const map =
    found.name === 'normalbae'
      ? await normalBaeMap(detect, found.session)
      : normalFromDepth(await rawDepth(detect, found.session, found.name), detect.width, detect.height);
  return { image: await resizeImage(map, options.width, options.height, 'linear') };
}
