import type { Tensor } from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { requireAnnotator } from '../model-based.js';
import { resizeForDetection, resizeImage } from '../resize.js';
import { toRgb } from '../rgb.js';
import type { Hint, HintOptions } from '../types.js';
import { readDetectResolution } from '../validate.js';
import { ADE20K_CLASSES, ADE20K_PALETTE } from './ade-palette.js';
import { IMAGENET, imageInput, imageTensor, modelSize, runImage, toPlanes, type Planes } from './model-io.js';

/** Source index and weight pairs of a bilinear (half-pixel, edge-clamped) resize along one axis. */
function linearAxis(srcSize: number, dstSize: number): { i0: Int32Array; i1: Int32Array; t: Float32Array } {
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const t = new Float32Array(dstSize);
  const scale = srcSize / dstSize;
  for (let o = 0; o < dstSize; o++) {
    const f = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), srcSize - 1);
    i0[o] = Math.floor(f);
    i1[o] = Math.min(i0[o] + 1, srcSize - 1);
    t[o] = f - i0[o];
  }
  return { i0, i1, t };
}

/**
 * The class of each pixel of a w×h image from logits [C, h', w']: the logits resized bilinearly to w×h
 * (as transformers' post_process_semantic_segmentation does), then the first largest class. The
 * resize is done per pixel, so no C×w×h buffer is needed.
 */
export function argmaxClasses(logits: Planes, w: number, h: number): Uint16Array {
  const { data, channels, width: lw, height: lh } = logits;
  const plane = lw * lh;
  const xs = linearAxis(lw, w);
  const ys = linearAxis(lh, h);
  const labels = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) {
    const r0 = ys.i0[y] * lw;
    const r1 = ys.i1[y] * lw;
    const ty = ys.t[y];
    for (let x = 0; x < w; x++) {
      const c0 = xs.i0[x];
      const c1 = xs.i1[x];
      const tx = xs.t[x];
      const w00 = (1 - tx) * (1 - ty);
      const w01 = tx * (1 - ty);
      const w10 = (1 - tx) * ty;
      const w11 = tx * ty;
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0, base = 0; c < channels; c++, base += plane) {
        const v = data[base + r0 + c0] * w00 + data[base + r0 + c1] * w01 + data[base + r1 + c0] * w10 + data[base + r1 + c1] * w11;
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      labels[y * w + x] = best;
    }
  }
  return labels;
}

/** Class labels as ADE20K palette colours (classes past the palette stay black). */
export function paletteImage(labels: ArrayLike<number>, w: number, h: number): RawImage {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0, o = 0; i < labels.length; i++, o += 3) {
    const k = labels[i];
    if (k < 0 || k >= ADE20K_CLASSES) continue;
    out[o] = ADE20K_PALETTE[k * 3];
    out[o + 1] = ADE20K_PALETTE[k * 3 + 1];
    out[o + 2] = ADE20K_PALETTE[k * 3 + 2];
  }
  return { data: out, width: w, height: h, channels: 3 };
}

/** Labels from an output that already holds class indices ([1, h, w] integers), nearest-resized to w×h. */
function labelsFromIndices(tensor: Tensor, w: number, h: number): Int32Array {
  const dims = tensor.dims;
  const lw = dims[dims.length - 1];
  const lh = dims[dims.length - 2];
  const src = tensor.data as BigInt64Array | Int32Array;
  const out = new Int32Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(lh - 1, Math.floor((y * lh) / h));
    for (let x = 0; x < w; x++) out[y * w + x] = Number(src[sy * lw + Math.min(lw - 1, Math.floor((x * lw) / w))]);
  }
  return out;
}

/**
 * The segmentation hint (ControlNet 1.1's UniFormer/UperNet annotator, diffusers' UperNet example):
 * ImageNet-normalised RGB at the detect resolution through an ADE20K segmenter, each pixel coloured with
 * its class's ADE20K palette colour, resized bilinearly to the output size. Graphs that output class
 * indices instead of logits work too.
 */
export async function segmentationHint(image: RawImage, options: HintOptions): Promise<Hint> {
  const session = await requireAnnotator('segmentation', 'upernet', options);
  const detect = await resizeForDetection(toRgb(image), readDetectResolution(options));
  const input = imageInput(session, 'upernet');
  const size = modelSize(input, detect.width, detect.height, 32);
  const fed = await resizeImage(detect, size.width, size.height, 'cubic');
  const [output] = await runImage(session, input, imageTensor(fed, input, IMAGENET));
  const { width: w, height: h } = detect;
  const labels = output.type === 'int64' || output.type === 'int32' ? labelsFromIndices(output, w, h) : argmaxClasses(toPlanes(output, 'upernet'), w, h);
  return { image: await resizeImage(paletteImage(labels, w, h), options.width, options.height, 'linear') };
}
