/** Activations written with opset-17 primitives (opset 17 has no Gelu op). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';

/** SiLU / swish: x * sigmoid(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])], {}, 'SiLU');
}

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), the form torch exports and onnxruntime fuses. */
export function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, g.float32([Math.SQRT2], [])])]);
  const onePlus = g.op('Add', [erf, g.float32([1], [])]);
  return g.op('Mul', [g.op('Mul', [x, onePlus]), g.float32([0.5], [])], {}, 'Gelu');
}

/** CLIP's quick GELU: x * sigmoid(1.702 x). */
export function quickGelu(g: GraphBuilder, x: string): string {
  const scaled = g.op('Mul', [x, g.float32([1.702], [])]);
  return g.op('Mul', [x, g.op('Sigmoid', [scaled])], {}, 'QuickGelu');
}
