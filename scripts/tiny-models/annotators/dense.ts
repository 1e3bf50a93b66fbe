/**
 * Tiny stand-ins for the dense-prediction annotators (depth, normal, edges, lineart, segmentation) with
 * the input and output names and shapes of their common ONNX exports. Each computes a simple known
 * function of its (already normalised) input, so a test can predict the hint exactly.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import type { Dim } from '../../../src/onnx/onnx.js';
import { channelMix, downsample, fixedGraph } from './common.js';

const IMAGE: readonly Dim[] = [1, 3, 'height', 'width'];

export interface ImageGraphOptions {
  /** A fixed input size [height, width] instead of dynamic axes. */
  fixedSize?: readonly [number, number];
}

function imageDims(options: ImageGraphOptions): readonly Dim[] {
  return options.fixedSize === undefined ? IMAGE : [1, 3, options.fixedSize[0], options.fixedSize[1]];
}

const THIRD = 1 / 3;

/**
 * Depth (optimum's DPT / Depth Anything export: pixel_values [1,3,H,W] → predicted_depth [1,H,W]):
 * the mean of the three input channels.
 */
export function depthGraph(options: ImageGraphOptions = {}): GraphBuilder {
  const g = fixedGraph('tiny-depth');
  const x = g.input('pixel_values', 'float32', imageDims(options));
  const mean = channelMix(g, x, [[THIRD, THIRD, THIRD]]);
  const depth = g.op('Squeeze', [mean, g.int64([1])]);
  g.output(depth, 'predicted_depth', 'float32', [1, 'height', 'width']);
  return g;
}

/** NormalBAE (input [1,3,H,W] → output [1,4,H,W]): the input channels as x, y, z, and a constant κ. */
export function normalBaeGraph(): GraphBuilder {
  const g = fixedGraph('tiny-normalbae');
  const x = g.input('input', 'float32', IMAGE);
  const out = channelMix(
    g,
    x,
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
    ],
    [0, 0, 0, 30],
  );
  g.output(out, 'normal', 'float32', [1, 4, 'height', 'width']);
  return g;
}

/**
 * ControlNetHED_Apache2 (input [1,3,H,W] in 0..255 → projection1..5 [1,1,H/2^k,W/2^k]): every
 * projection is (mean(RGB) − 128) / 32, averaged over blocks of its scale.
 */
export function hedGraph(): GraphBuilder {
  const g = fixedGraph('tiny-hed');
  const x = g.input('input', 'float32', IMAGE);
  const k = 1 / 96;
  const centred = channelMix(g, x, [[k, k, k]], [-4]);
  for (let level = 0; level < 5; level++) {
    const s = 2 ** level;
    g.output(downsample(g, centred, s), `projection${level + 1}`, 'float32', [1, 1, `height_${s}`, `width_${s}`]);
  }
  return g;
}

/**
 * PiDiNet (input [1,3,H,W] → four side outputs and the fused map, each [1,1,H,W]): the fused (last)
 * output is the first input channel as fed; the side outputs hold the third channel, which a
 * post-processing that read the wrong output would show.
 */
export function pidinetGraph(): GraphBuilder {
  const g = fixedGraph('tiny-pidinet');
  const x = g.input('input', 'float32', IMAGE);
  for (let i = 1; i <= 4; i++) g.output(channelMix(g, x, [[0, 0, 1]]), `side${i}`, 'float32', [1, 1, 'height', 'width']);
  g.output(channelMix(g, x, [[1, 0, 0]]), 'fused', 'float32', [1, 1, 'height', 'width']);
  return g;
}

/** Lineart generator (input [1,3,H,W] in [0,1] → output [1,1,H,W]): the first input channel. */
export function lineartGraph(): GraphBuilder {
  const g = fixedGraph('tiny-lineart');
  const x = g.input('input', 'float32', IMAGE);
  g.output(channelMix(g, x, [[1, 0, 0]]), 'output', 'float32', [1, 1, 'height', 'width']);
  return g;
}

export interface SegmentationGraphOptions {
  /** The class every pixel favours by a margin of 1. */
  background: number;
  /** The class that wins where the first (normalised) input channel is large: its logit is 5 · channel 0. */
  foreground: number;
  /** Classes; 150 for ADE20K. */
  classes?: number;
  /** Logits at 1/stride of the input size (mmseg heads give 1/4; transformers' UperNet gives 1). */
  stride?: number;
}

/** An ADE20K segmenter (pixel_values [1,3,H,W] → logits [1,C,H/s,W/s]). */
export function segmentationGraph(options: SegmentationGraphOptions): GraphBuilder {
  const classes = options.classes ?? 150;
  const g = fixedGraph('tiny-upernet');
  const x = g.input('pixel_values', 'float32', IMAGE);
  const weights = Array.from({ length: classes }, (_, c) => (c === options.foreground ? [5, 0, 0] : [0, 0, 0]));
  const bias = Array.from({ length: classes }, (_, c) => (c === options.background ? 1 : 0));
  const logits = downsample(g, channelMix(g, x, weights, bias), options.stride ?? 4);
  g.output(logits, 'logits', 'float32', [1, classes, 'logit_height', 'logit_width']);
  return g;
}
