import * as ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';
import { addScaledInto, scaleInto } from '../tensor/ops.js';
import type { FloatType } from '../runtime/tensors.js';
import { RESIDUAL_COUNT } from '../runtime/signatures.js';

/**
 * diffusers' guess mode scales residual i (12 down + mid) by 10^(−1 + i/12): logspace(−1, 0, 13).
 */
export const GUESS_MODE_SCALES: readonly number[] = Array.from({ length: RESIDUAL_COUNT }, (_, i) => 10 ** (-1 + i / 12));

/** How one ControlNet's outputs enter the sum. */
export interface ResidualContribution {
  outputs: readonly ort.Tensor[];
  /** Scale still to apply in JS (1 when the graph applied the conditioning scale itself). */
  scale: number;
}

/**
 * Combines the ControlNets' 13 outputs into the UNet's 13 residual inputs: MultiControlNet's sum,
 * conditioning scales, and guess mode (ControlNets saw only the conditional half of the batch; the
 * unconditional half gets zeros, as diffusers concatenates). Buffers are allocated on the first step
 * and reused, and the common case — one ControlNet, nothing to scale — passes the tensors through.
 */
export class ResidualMixer {
  private acc: Float32Array[] = [];
  private scratch: Float32Array[] = [];
  private half: Uint16Array[] = [];

  constructor(
    private readonly unetType: FloatType,
    private readonly guessMode: boolean,
    /** UNet batch / ControlNet batch: 2 in guess mode with CFG, else 1. */
    private readonly batchFactor: number,
  ) {}

  mix(contributions: readonly ResidualContribution[]): ort.Tensor[] {
    const first = contributions[0];
    const passThrough =
      contributions.length === 1 && !this.guessMode && first.scale === 1 && this.batchFactor === 1 &&
      first.outputs.every((t) => t.type === this.unetType);
    if (passThrough) return [...first.outputs];

    const result: ort.Tensor[] = [];
    for (let r = 0; r < RESIDUAL_COUNT; r++) {
      const dims = first.outputs[r].dims;
      const cnSize = first.outputs[r].size;
      if (!this.acc[r]) this.acc[r] = new Float32Array(cnSize * this.batchFactor);
      const acc = this.acc[r];
      // With guess mode + CFG the ControlNet output fills the second (conditional) half; the first stays 0.
      const offset = acc.length - cnSize;
      const guess = this.guessMode ? GUESS_MODE_SCALES[r] : 1;
      contributions.forEach((c, k) => {
        const values = this.read(c.outputs[r], r);
        if (k === 0) scaleInto(acc, values, c.scale * guess, offset);
        else addScaledInto(acc, values, c.scale * guess, offset);
      });
      const outDims = [dims[0] * this.batchFactor, ...dims.slice(1)];
      if (this.unetType === 'float16') {
        if (!this.half[r]) this.half[r] = new Uint16Array(acc.length);
        result.push(new ort.Tensor('float16', float32ToFloat16(acc, this.half[r]), outDims));
      } else {
        result.push(new ort.Tensor('float32', acc, outDims));
      }
    }
    return result;
  }

  private read(t: ort.Tensor, r: number): Float32Array {
    if (t.type === 'float32') return t.data as Float32Array;
    if (!this.scratch[r]) this.scratch[r] = new Float32Array(t.size);
    return float16ToFloat32(t.data as Uint16Array, this.scratch[r]);
  }
}
