/**
 * Building blocks of the tiny annotator graphs: fixed (not random) weights, so each graph computes a
 * known function of its input that a test can predict.
 */
import { GraphBuilder } from '../../../src/onnx/graph.js';

/** A graph whose every value is given explicitly (no seeded parameters). */
export function fixedGraph(name: string): GraphBuilder {
  return new GraphBuilder(name, { seed: 0, storage: 'float32' });
}

/** A 1×1 convolution with the given weights [out][in] and biases: a per-pixel affine channel mix. */
export function channelMix(g: GraphBuilder, x: string, weights: readonly (readonly number[])[], bias?: readonly number[]): string {
  const out = weights.length;
  const inputs = weights[0].length;
  const w = g.float32(weights.flat(), [out, inputs, 1, 1]);
  const b = g.float32(bias ?? new Array<number>(out).fill(0), [out]);
  return g.op('Conv', [x, w, b], { kernel_shape: [1, 1] });
}

/** Averages k×k blocks (k = 1 keeps the size). */
export function downsample(g: GraphBuilder, x: string, k: number): string {
  return k === 1 ? x : g.op('AveragePool', [x], { kernel_shape: [k, k], strides: [k, k] });
}

/**
 * A constant tensor that still depends on `x` (plus 0 · mean(x)), so the graph consumes its input as a
 * real annotator does while its output is fixed by the test.
 */
export function constantFrom(g: GraphBuilder, x: string, values: Float32Array, dims: readonly number[]): string {
  const zero = g.op('Mul', [g.op('ReduceMean', [x], { keepdims: 1 }), g.float32([0], [])]);
  return g.op('Add', [g.float32(values, dims), zero]);
}
