/** torch.nn.Conv2d as an ONNX Conv (NCHW, weight [out, in, k, k]). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { biasUniform, fanInUniform } from './init.js';

export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  /** [top, left, bottom, right]; default: kernel/2 on every side ("same" for odd kernels at stride 1). */
  pads?: readonly [number, number, number, number];
  /** Scales the weight range; < 1 for the last layer of a residual branch. */
  gain?: number;
}

export function conv2d(g: GraphBuilder, x: string, name: string, spec: ConvSpec): string {
  const { inChannels, outChannels, kernel } = spec;
  const fanIn = inChannels * kernel * kernel;
  const weight = g.param(`${name}.weight`, [outChannels, inChannels, kernel, kernel], fanInUniform(fanIn, spec.gain));
  const bias = g.param(`${name}.bias`, [outChannels], biasUniform(fanIn));
  const half = Math.floor(kernel / 2);
  const pads = spec.pads ?? [half, half, half, half];
  const stride = spec.stride ?? 1;
  return g.op('Conv', [x, weight, bias], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads }, `${name}/Conv`);
}
