/** torch.nn.Linear as MatMul (+ Add). The weight is stored as [in, out], the layout torch's exporter writes. */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { biasUniform, fanInUniform } from './init.js';

export interface LinearSpec {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  /** Scales the weight range; < 1 for the last layer of a residual branch. */
  gain?: number;
}

export function linear(g: GraphBuilder, x: string, name: string, spec: LinearSpec): string {
  const { inFeatures, outFeatures } = spec;
  const weight = g.param(`${name}.weight`, [inFeatures, outFeatures], fanInUniform(inFeatures, spec.gain));
  const y = g.op('MatMul', [x, weight], {}, `${name}/MatMul`);
  if (spec.bias === false) return y;
  const bias = g.param(`${name}.bias`, [outFeatures], biasUniform(inFeatures));
  return g.op('Add', [y, bias], {}, `${name}/Add`);
}
