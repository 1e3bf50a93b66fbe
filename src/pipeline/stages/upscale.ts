/**
 * Stage: image → image × factor with an ONNX super-resolution network (Real-ESRGAN family: `input [1,3,H,W]` float
 * in 0..1 → `output [1,3,sH,sW]`), after decode. The image is cut into tiles so any size fits in memory: each tile's
 * core is run with `overlap` pixels of real context on every inner side and only the core's output is kept
 * (cropped seams), so a network whose receptive-field radius is at most `overlap` gives exactly the untiled result.
 * A graph with a fixed input size gets tiles of that size (edge pixels repeated where the image is smaller). The
 * network's own scale s is read from its output/input sizes; a factor below s is reached by resizing the s× result
 * down (OpenCV's Lanczos, as Real-ESRGAN's `outscale` does).
 */
import type * as ort from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import { resizeOpenCv } from '../../preprocessors/opencv-resize.js';
import type { VaeSignature } from '../../runtime/signatures.js';
import { floatTensor, toFloat32 } from '../../runtime/tensors.js';
import { GenerationError } from '../errors.js';
import type { Loaded } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';

export interface TileOptions {
  /** Tile side (input pixels, overlap included) for graphs with dynamic sizes. */
  tile: number;
  /** Context kept around each tile's core; at least the network's receptive-field radius for seamless output. */
  overlap: number;
}

export const DEFAULT_TILES: TileOptions = { tile: 256, overlap: 16 };

/** One window along an axis: the input span [start, start + size) and the core [core0, core1) kept from it. */
interface Span {
  start: number;
  size: number;
  core0: number;
  core1: number;
}

/** Windows of `size` along an axis of `length` whose cores tile it; a window never leaves the axis unless it is longer. */
export function tileSpans(length: number, size: number, overlap: number): Span[] {
  if (size >= length) return [{ start: 0, size, core0: 0, core1: length }];
  // A fixed-size graph may have tiles too small for the overlap asked: keep a core of at least 1 pixel.
  const margin = Math.min(overlap, Math.floor((size - 1) / 2));
  const step = size - 2 * margin;
  const spans: Span[] = [];
  for (let core0 = 0; core0 < length; core0 += step) {
    const start = Math.min(Math.max(core0 - margin, 0), length - size);
    // A window that reaches the end keeps everything to the end: the image's own border is its context there.
    const core1 = start + size === length ? length : core0 + step;
    spans.push({ start, size, core0, core1 });
    if (core1 === length) break;
  }
  return spans;
}

const fixedSide = (dim: number | string | undefined) => (typeof dim === 'number' && dim > 0 ? dim : null);

/** Upscales an RGB(A) image by `factor` (alpha is dropped: the output is RGB). */
export async function upscaleImage(
  upscaler: Loaded<VaeSignature>,
  image: RawImage,
  factor: number,
  runner: SessionRunner,
  tiles: TileOptions = DEFAULT_TILES,
): Promise<{ image: RawImage; modelScale: number }> {
  const sig = upscaler.signature;
  const { width: W, height: H, channels: C, data } = image;
  const tileW = fixedSide(sig.input.shape[3]) ?? Math.min(tiles.tile, W);
  const tileH = fixedSide(sig.input.shape[2]) ?? Math.min(tiles.tile, H);
  const xs = tileSpans(W, tileW, tiles.overlap);
  const ys = tileSpans(H, tileH, tiles.overlap);
  let scale = 0;
  let out: Uint8Array | null = null;
  for (const y of ys) {
    for (const x of xs) {
      const input = new Float32Array(3 * y.size * x.size);
      const plane = y.size * x.size;
      for (let j = 0; j < y.size; j++) {
        const sy = Math.min(y.start + j, H - 1);
        for (let i = 0; i < x.size; i++) {
          const p = (sy * W + Math.min(x.start + i, W - 1)) * C;
          const q = j * x.size + i;
          input[q] = data[p]! / 255;
          input[plane + q] = data[p + (C >= 3 ? 1 : 0)]! / 255;
          input[2 * plane + q] = data[p + (C >= 3 ? 2 : 0)]! / 255;
        }
      }
      const result = await runner.run('upscaler', upscaler.session, { [sig.input.name]: floatTensor(sig.floatType, input, [1, 3, y.size, x.size]) });
      const tensor = result[sig.output.name] as ort.Tensor;
      const [, oc, oh, ow] = tensor.dims as number[];
      const s = ow! / x.size;
      if (oc !== 3 || !Number.isInteger(s) || s < 1 || oh !== y.size * s) {
        throw new GenerationError(
          `upscale: the upscaler ${upscaler.path} returned [${tensor.dims.join(',')}] for a [1,3,${y.size},${x.size}] input; expected [1,3,${y.size}×s,${x.size}×s]`,
        );
      }
      if (scale === 0) {
        scale = s;
        out = new Uint8Array(W * s * H * s * 3);
      }
      copyCore(toFloat32(tensor), out!, { ow: ow!, oPlane: oh! * ow!, outW: W * s, s, x, y });
    }
  }
  if (scale < factor) {
    throw new GenerationError(
      `upscale: the installed upscaler enlarges ${scale}×, so it cannot give ${factor}×; install a ${factor}× model or send upscale "${scale}"`,
    );
  }
  const full: RawImage = { data: out!, width: W * scale, height: H * scale, channels: 3 };
  const image2 = scale === factor ? full : resizeOpenCv(full, W * factor, H * factor, 'lanczos4');
  return { image: image2, modelScale: scale };
}

/** The tile's core from planar float output into the interleaved 8-bit result. */
function copyCore(o: Float32Array, out: Uint8Array, t: { ow: number; oPlane: number; outW: number; s: number; x: Span; y: Span }) {
  const { ow, oPlane, outW, s, x, y } = t;
  const i0 = (x.core0 - x.start) * s;
  const i1 = (x.core1 - x.start) * s;
  for (let j = (y.core0 - y.start) * s; j < (y.core1 - y.start) * s; j++) {
    let p = ((y.start * s + j) * outW + x.start * s + i0) * 3;
    for (let q = j * ow + i0, end = j * ow + i1; q < end; q++, p += 3) {
      out[p] = toByte(o[q]!);
      out[p + 1] = toByte(o[oPlane + q]!);
      out[p + 2] = toByte(o[2 * oPlane + q]!);
    }
  }
}

/** Real-ESRGAN's `(output.clamp(0, 1) * 255.0).round()` on float32 numpy: the product in float32, ties to even (NaN → 0). */
function toByte(v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  const f = Math.fround(v * 255);
  const r = (f + 0.5) | 0;
  return r - f === 0.5 && (r & 1) === 1 ? r - 1 : r;
}
