/** Loops of the ResidualMixer that tensor/ops does not have: broadcasting pooled residuals, scaling halves. */
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';

/**
 * out[offset + (b·C + c)·plane + p] += s · pooled[b·C + c] for every p < plane: a [b, C, 1, 1] residual added over
 * its [b, C, h, w] target, as broadcasting does.
 */
export function broadcastAddInto(out: Float32Array, pooled: Float32Array, s: number, offset: number, plane: number): void {
  for (let bc = 0; bc < pooled.length; bc++) {
    const v = s * pooled[bc]!;
    const base = offset + bc * plane;
    for (let p = 0; p < plane; p++) out[base + p] += v;
  }
}

/** Elements per block: the block's float32 copy stays in cache between the two conversions. */
const BLOCK = 4096;
const blockIn = new Float32Array(BLOCK);

/** out[offset + i] = half(s · src[i]), rounded as the float32 path rounds, without a float32 copy of the whole tensor. */
export function scaleHalfInto(out: Uint16Array, src: Uint16Array, s: number, offset: number): void {
  for (let start = 0; start < src.length; start += BLOCK) {
    const n = Math.min(BLOCK, src.length - start);
    const block = n === BLOCK ? blockIn : blockIn.subarray(0, n);
    float16ToFloat32(src.subarray(start, start + n), block);
    for (let i = 0; i < n; i++) block[i] *= s;
    float32ToFloat16(block, out.subarray(offset + start, offset + start + n));
  }
}
