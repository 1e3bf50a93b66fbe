import * as ort from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { toFloat32 } from '../../runtime/tensors.js';
import { float32ToFloat16 } from '../../tensor/float16.js';

/**
 * Annotator exports name their tensors differently (torch.onnx defaults, optimum, ComfyUI ports), so an
 * annotator's image input is found by rank (the first 4-D float input) and its outputs by position.
 */
export interface ImageInput {
  name: string;
  type: 'float32' | 'float16';
  /** NCHW unless the channel axis is last (TF-converted models). */
  layout: 'nchw' | 'nhwc';
  /** Channels the graph expects (3, or 4 for M-LSD's extra plane). */
  channels: number;
  /** The spatial size the graph fixes, or null for a dynamic axis. */
  height: number | null;
  width: number | null;
}

const fixed = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : null);

/** The first 4-D float input of `session`; `what` names the annotator in errors. */
export function imageInput(session: ort.InferenceSession, what: string, defaultChannels = 3): ImageInput {
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor || meta.shape.length !== 4) continue;
    if (meta.type !== 'float32' && meta.type !== 'float16') continue;
    const [, a, b, c] = meta.shape;
    // A last axis of 3 or 4 with a larger (or dynamic) second axis means channels-last.
    const lastIsChannels = fixed(c) !== null && (c as number) <= 4 && (fixed(a) === null || (a as number) > 4);
    return lastIsChannels
      ? { name: meta.name, type: meta.type, layout: 'nhwc', channels: c as number, height: fixed(a), width: fixed(b) }
      : { name: meta.name, type: meta.type, layout: 'nchw', channels: fixed(a) ?? defaultChannels, height: fixed(b), width: fixed(c) };
  }
  throw new Error(`${what} annotator: the ONNX graph has no 4-D float image input`);
}

/** Pixel normalisation: model value = (pixel - mean[c]) / std[c], pixels in 0..255, channels in RGB order. */
export interface PixelNorm {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Feed channels as B, G, R (OpenCV-trained models). */
  bgr?: boolean;
}

export const SIGNED_UNIT: PixelNorm = { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] };
export const UNIT: PixelNorm = { mean: [0, 0, 0], std: [255, 255, 255] };
export const RAW: PixelNorm = { mean: [0, 0, 0], std: [1, 1, 1] };
export const IMAGENET: PixelNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };

/**
 * An RGB image as the input tensor [1, C, H, W] (or [1, H, W, C]), normalised; channels past the third
 * (M-LSD's) hold `extraPixel` normalised as channel 0 is.
 */
export function imageTensor(rgb: RawImage, input: ImageInput, norm: PixelNorm, extraPixel = 255): ort.Tensor {
  const { width: w, height: h } = rgb;
  const n = w * h;
  const c = input.channels;
  const data = new Float32Array(n * c);
  // Per-channel a·x + b, as the division by std and subtraction of mean fold into.
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  const source = new Int32Array(c);
  for (let k = 0; k < c; k++) {
    const from = k < 3 ? (norm.bgr ? 2 - k : k) : -1;
    const stat = k < 3 ? from : 0;
    scale[k] = 1 / norm.std[stat];
    shift[k] = -norm.mean[stat] / norm.std[stat];
    source[k] = from;
  }
  const src = rgb.data;
  const stride = rgb.channels;
  for (let k = 0; k < c; k++) {
    const a = scale[k];
    const b = shift[k];
    const from = source[k];
    const step = input.layout === 'nchw' ? 1 : c;
    let o = input.layout === 'nchw' ? k * n : k;
    if (from < 0) {
      const v = extraPixel * a + b;
      for (let i = 0; i < n; i++, o += step) data[o] = v;
    } else {
      for (let i = 0, s = from; i < n; i++, s += stride, o += step) data[o] = src[s] * a + b;
    }
  }
  const dims = input.layout === 'nchw' ? [1, c, h, w] : [1, h, w, c];
  return input.type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** A float output as planes: data CHW, with the batch axis dropped ([1,C,H,W], [1,H,W] or [H,W]). */
export interface Planes {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

export function toPlanes(tensor: ort.Tensor, what: string): Planes {
  const dims = tensor.dims;
  const data = toFloat32(tensor);
  if (dims.length === 4 && dims[0] === 1) return { data, channels: dims[1], height: dims[2], width: dims[3] };
  if (dims.length === 3 && dims[0] === 1) return { data, channels: 1, height: dims[1], width: dims[2] };
  if (dims.length === 2) return { data, channels: 1, height: dims[0], width: dims[1] };
  throw new Error(`${what} annotator: unexpected output shape [${dims.join(', ')}]`);
}

/** Runs the image through the graph; returns its outputs in graph order. */
export async function runImage(session: ort.InferenceSession, input: ImageInput, tensor: ort.Tensor): Promise<ort.Tensor[]> {
  const results = await session.run({ [input.name]: tensor });
  return session.outputNames.map((name) => results[name] as ort.Tensor);
}

/** The size the graph runs at: its fixed size, or the detect size with each side rounded to `multiple`. */
export function modelSize(input: ImageInput, width: number, height: number, multiple = 1): { width: number; height: number } {
  const round = (v: number) => Math.max(multiple, Math.round(v / multiple) * multiple);
  return { width: input.width ?? round(width), height: input.height ?? round(height) };
}
