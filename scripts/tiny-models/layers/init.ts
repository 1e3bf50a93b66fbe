/** Initial weight ranges: uniform with the variance a layer needs to keep unit-variance activations. */
import type { ParamInit } from '../../../src/onnx/graph.js';

/** Uniform init with std `gain / sqrt(fanIn)` (He/LeCun-style: a gain-1 layer preserves the input variance). */
export function fanInUniform(fanIn: number, gain = 1): ParamInit {
  return { kind: 'uniform', bound: gain * Math.sqrt(3 / fanIn) };
}

/** torch's default bias range for Linear and Conv layers: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function biasUniform(fanIn: number): ParamInit {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

export const ONES: ParamInit = { kind: 'constant', value: 1 };
export const ZEROS: ParamInit = { kind: 'constant', value: 0 };
