/**
 * I/O conventions of one model-set variant. Real exports differ in exactly these points, so the two generated
 * variants take opposite choices and the runtime's adaptation to each is exercised.
 */
import { onnxDType, type Dim } from '../../../src/onnx/onnx.js';
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { BATCH } from './dims.js';

export interface ExportFormat {
  variant: 'fp32' | 'fp16';
  /** Weights and every float input/output. float16 graphs cast to float32 inside and compute in float32. */
  float: 'float32' | 'float16';
  inputIds: 'int32' | 'int64';
  /** `[batch]` float32 timesteps, or one int64 scalar (rank 0) for the whole batch. */
  timestep: { dtype: 'float32' | 'int64'; rank: 0 | 1 };
  /** Whether ControlNets take a float32 scalar `conditioning_scale` input. */
  conditioningScale: boolean;
  /** `latent_parameters` (mean and logvar, 2x latent channels) or `latent_sample` (the mean, 4 channels). */
  vaeEncoderOutput: 'latent_parameters' | 'latent_sample';
}

export const FP32_FORMAT: ExportFormat = {
  variant: 'fp32',
  float: 'float32',
  inputIds: 'int32',
  timestep: { dtype: 'float32', rank: 1 },
  conditioningScale: true,
  vaeEncoderOutput: 'latent_parameters',
};

export const FP16_FORMAT: ExportFormat = {
  variant: 'fp16',
  float: 'float16',
  inputIds: 'int64',
  timestep: { dtype: 'int64', rank: 0 },
  conditioningScale: false,
  vaeEncoderOutput: 'latent_sample',
};

export const FORMATS = { fp32: FP32_FORMAT, fp16: FP16_FORMAT } as const;

/** Declares a float input in the format's dtype; returns it as a float32 value. */
export function floatInput(g: GraphBuilder, format: ExportFormat, name: string, dims: readonly Dim[]): string {
  g.input(name, format.float, dims);
  return format.float === 'float32' ? name : g.op('Cast', [name], { to: onnxDType('float32') }, `${name}/Cast`);
}

/** Declares float32 `value` as a float output in the format's dtype. */
export function floatOutput(g: GraphBuilder, format: ExportFormat, value: string, name: string, dims: readonly Dim[]): void {
  const cast = format.float === 'float32' ? value : g.op('Cast', [value], { to: onnxDType('float16') }, `${name}/Cast`);
  g.output(cast, name, format.float, dims);
}

/** Declares the timestep input; returns it as float32 of shape [batch] or [] (both broadcast over the batch). */
export function timestepInput(g: GraphBuilder, format: ExportFormat): string {
  const { dtype, rank } = format.timestep;
  g.input('timestep', dtype, rank === 1 ? [BATCH] : []);
  return dtype === 'float32' ? 'timestep' : g.op('Cast', ['timestep'], { to: onnxDType('float32') }, 'timestep/Cast');
}
