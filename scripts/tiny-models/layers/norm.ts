/** Normalisation layers. */
import { float, type GraphBuilder } from '../../../src/onnx/graph.js';
import { ONES, ZEROS } from './init.js';

export interface GroupNormSpec {
  channels: number;
  groups: number;
  eps: number;
}

/**
 * torch.nn.GroupNorm on NCHW. Opset 17 has no GroupNormalization, so this is the reshape trick torch's exporter
 * uses: view as [N, groups, -1], InstanceNormalization (one mean/variance per group), view back, then the
 * per-channel affine.
 */
export function groupNorm(g: GraphBuilder, x: string, name: string, spec: GroupNormSpec): string {
  const { channels, groups, eps } = spec;
  if (channels % groups !== 0) throw new Error(`${name}: ${channels} channels do not split into ${groups} groups`);
  const grouped = g.op('Reshape', [x, g.int64([0, groups, -1])], {}, `${name}/Reshape`);
  const unitScale = g.float32(new Float32Array(groups).fill(1));
  const zeroBias = g.float32(new Float32Array(groups));
  const normed = g.op('InstanceNormalization', [grouped, unitScale, zeroBias], { epsilon: float(eps) }, `${name}/InstanceNorm`);
  const restored = g.op('Reshape', [normed, g.op('Shape', [x])], {}, `${name}/Reshape`);
  const weight = g.param(`${name}.weight`, [channels, 1, 1], ONES);
  const bias = g.param(`${name}.bias`, [channels, 1, 1], ZEROS);
  return g.op('Add', [g.op('Mul', [restored, weight]), bias], {}, `${name}/Affine`);
}

export interface LayerNormSpec {
  dim: number;
  eps: number;
}

/** torch.nn.LayerNorm over the last axis (ONNX LayerNormalization, opset 17). */
export function layerNorm(g: GraphBuilder, x: string, name: string, spec: LayerNormSpec): string {
  return layerNormModule(g, name, spec)(x);
}

/** One LayerNorm's weights, applicable to several inputs (CLIP's final norm on each clip_skip state). */
export function layerNormModule(g: GraphBuilder, name: string, spec: LayerNormSpec): (x: string) => string {
  const weight = g.param(`${name}.weight`, [spec.dim], ONES);
  const bias = g.param(`${name}.bias`, [spec.dim], ZEROS);
  return (x) => g.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: float(spec.eps) }, `${name}/LayerNorm`);
}
