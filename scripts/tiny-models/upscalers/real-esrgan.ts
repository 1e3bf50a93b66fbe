/**
 * Tiny stand-ins for Real-ESRGAN ONNX exports: `input [1,3,H,W]` (0..1) → `output [1,3,sH,sW]`, dynamic sizes,
 * float32 or float16 I/O. `nearestUpscalerGraph` is nearest-neighbour enlargement (the built-in `tiny-x2`),
 * `pixelUpscalerGraph` is pixel-local (a 1×1 conv then depth-to-space: every output pixel
 * depends on one input pixel), `convUpscalerGraph` has a 3×3 receptive field (radius 1) like a real network's
 * first layer, with seeded weights; both let a test compare tiled and untiled runs exactly.
 */
import { GraphBuilder } from '../../../src/onnx/graph.js';
import { onnxDType, type Dim } from '../../../src/onnx/onnx.js';
import { conv2d } from '../layers/conv.js';

export interface UpscalerGraphOptions {
  /** The enlargement (depth-to-space block size). Default 2. */
  scale?: number;
  /** I/O element type (weights follow it). Default float32. */
  dtype?: 'float32' | 'float16';
  /** A fixed input size [height, width] instead of dynamic axes. */
  fixedSize?: readonly [number, number];
  seed?: number;
}

function frame(name: string, options: UpscalerGraphOptions, body: (g: GraphBuilder, x: string, s: number) => string): GraphBuilder {
  const s = options.scale ?? 2;
  const dtype = options.dtype ?? 'float32';
  const g = new GraphBuilder(name, { seed: options.seed ?? 7, storage: dtype });
  const inDims: readonly Dim[] = options.fixedSize ? [1, 3, options.fixedSize[0], options.fixedSize[1]] : [1, 3, 'height', 'width'];
  const outDims: readonly Dim[] = options.fixedSize ? [1, 3, options.fixedSize[0] * s, options.fixedSize[1] * s] : [1, 3, 'out_height', 'out_width'];
  const input = g.input('input', dtype, inDims);
  const x = dtype === 'float16' ? g.op('Cast', [input], { to: onnxDType('float32') }) : input;
  const y = g.op('DepthToSpace', [body(g, x, s)], { blocksize: s, mode: 'CRD' });
  g.output(dtype === 'float16' ? g.op('Cast', [y], { to: onnxDType('float16') }) : y, 'output', dtype, outDims);
  return g;
}

/** Output pixel (c, sy + i, sx + j) = 0.8 · input(c, y, x) + 0.1 + 0.02 · (i·s + j): nearest-neighbour, shifted. */
export function pixelUpscalerGraph(options: UpscalerGraphOptions = {}): GraphBuilder {
  return frame('tiny-upscaler-pixel', options, (g, x, s) => {
    const weights: number[] = [];
    const bias: number[] = [];
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < s * s; k++) {
        weights.push(...[0, 1, 2].map((i) => (i === c ? 0.8 : 0)));
        bias.push(0.1 + 0.02 * k);
      }
    }
    return g.op('Conv', [x, g.float32(weights, [3 * s * s, 3, 1, 1]), g.float32(bias, [3 * s * s])], { kernel_shape: [1, 1] });
  });
}

/** Output pixel (c, sy + i, sx + j) = input(c, y, x): nearest-neighbour enlargement, exact, as a 1×1 conv + depth-to-space. */
export function nearestUpscalerGraph(options: UpscalerGraphOptions = {}): GraphBuilder {
  return frame('tiny-upscaler-nearest', options, (g, x, s) => {
    const weights: number[] = [];
    for (let c = 0; c < 3; c++) for (let k = 0; k < s * s; k++) weights.push(...[0, 1, 2].map((i) => (i === c ? 1 : 0)));
    return g.op('Conv', [x, g.float32(weights, [3 * s * s, 3, 1, 1]), g.float32(new Array(3 * s * s).fill(0), [3 * s * s])], { kernel_shape: [1, 1] });
  });
}

/** A seeded 3×3 convolution (zero padding) to 3·s² channels, then depth-to-space: receptive-field radius 1. */
export function convUpscalerGraph(options: UpscalerGraphOptions = {}): GraphBuilder {
  return frame('tiny-upscaler-conv3', options, (g, x, s) => conv2d(g, x, 'conv_first', { inChannels: 3, outChannels: 3 * s * s, kernel: 3 }));
}
