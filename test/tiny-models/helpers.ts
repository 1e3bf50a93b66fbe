/** Shared helpers of the tiny-model generator tests: run graphs in onnxruntime-node, make inputs, compare outputs. */
import ort from 'onnxruntime-node';
import type { GraphBuilder } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/model-file.js';

export { ort };

export async function session(g: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(g), { intraOpNumThreads: 1 });
}

export async function runGraph(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await session(g);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Deterministic, varied values in about [-1, 1]. */
export function wave(count: number, phase = 0): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(0.37 * i + phase) * Math.cos(0.11 * i));
}

export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function floats(t: ort.Tensor | undefined): Float32Array {
  if (t === undefined) throw new Error('missing output');
  return t.data as Float32Array;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export function maxAbs(a: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]!));
  return max;
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** An initializer's float32 values. */
export function initializerValues(g: GraphBuilder, name: string): Float32Array {
  const init = g.initializers.find((i) => i.name === name);
  if (init === undefined || init.dtype !== 'float32') throw new Error(`no float32 initializer ${name}`);
  return new Float32Array(init.bytes.slice().buffer);
}
