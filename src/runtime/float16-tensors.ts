/**
 * float16 tensors stay Uint16Array bit patterns on every Node.js line. onnxruntime-common maps 'float16' to
 * `Float16Array` whenever the runtime has one (Node.js 24 does) and wraps a Uint16Array in it, but
 * onnxruntime-node 1.30's native binding cannot read a Float16Array (N-API has no such typed-array type): it sees
 * 0 bytes and fails with "not enough space". onnxruntime-common decides once, at its first Tensor; this module makes
 * that first Tensor with `Float16Array` hidden, then puts it back. Imported for its effect by session.ts, which every
 * path that runs a model goes through, so it runs in each thread before any model does.
 */
import * as ort from 'onnxruntime-node';

const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'Float16Array');
if (descriptor?.configurable) {
  delete (globalThis as { Float16Array?: unknown }).Float16Array;
  try {
    new ort.Tensor('float32', new Float32Array(1), [1]);
  } finally {
    Object.defineProperty(globalThis, 'Float16Array', descriptor);
  }
}
