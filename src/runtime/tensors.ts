import * as ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';

/** The element types our models use at their inputs and outputs. */
export type FloatType = 'float32' | 'float16';

/** A float tensor in the model's own representation: Float32Array, or float16 bits as Uint16Array. */
export type FloatData = Float32Array | Uint16Array;

export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** Reads a float output as Float32Array (a view, without copying, when it already is float32). */
export function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    // onnxruntime hands float16 back as Uint16Array (or Float16Array where the runtime has one).
    if (data instanceof Uint16Array) return float16ToFloat32(data);
    return Float32Array.from(data as ArrayLike<number>);
  }
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

/** A timestep tensor of whatever dtype and rank the graph declares. */
export function timestepTensor(type: string, rank: number, batch: number, value: number): ort.Tensor {
  const dims = rank === 0 ? [] : [batch];
  const n = rank === 0 ? 1 : batch;
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(n).fill(value), dims);
    case 'float16':
      return new ort.Tensor('float16', float32ToFloat16(new Float32Array(n).fill(value)), dims);
    case 'int64':
      // diffusers' ONNX pipelines cast with numpy, which truncates toward zero.
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.trunc(value))), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(Math.trunc(value)), dims);
    case 'double':
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n).fill(value), dims);
    default:
      throw new Error(`unsupported timestep type ${type}`);
  }
}

/** A timestep feed for an input spec: its dtype, rank, and a static length when the graph fixes one. */
export function timestepFeed(spec: { type: string; shape: readonly (number | string)[] }, batch: number, t: number): ort.Tensor {
  const rank = spec.shape.length;
  const fixed = rank === 1 && typeof spec.shape[0] === 'number' ? spec.shape[0] : batch;
  return timestepTensor(spec.type, rank, fixed, t);
}

/** A one-value feed (a conditioning scale): rank 0, or [1]. */
export function scalarFeed(spec: { type: string; shape: readonly (number | string)[] }, value: number): ort.Tensor {
  return timestepTensor(spec.type, spec.shape.length, 1, value);
}

export function idsTensor(type: string, ids: Int32Array, dims: readonly number[]): ort.Tensor {
  if (type === 'int32') return new ort.Tensor('int32', ids, dims);
  if (type === 'int64')
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      dims,
    );
  throw new Error(`unsupported input_ids type ${type}`);
}
