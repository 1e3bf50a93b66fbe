import * as ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from '../tensor/float16.js';
import { addScaledInto, scaleInto } from '../tensor/ops.js';
import type { FloatType } from '../runtime/tensors.js';
import { broadcastAddInto, halfScaleTable, mixIntoHalf, scaleHalfInto } from './residual-kernels.js';
import { inputName, outputName, residualSumSession, scaleName } from './residual-sum-graph.js';

/** The UNet's residual inputs as the model description gives them. */
export interface ResidualPlan {
  /** Resolution level (number of stride-2 downsamplings) of each residual, down ones then mid. */
  levels: readonly number[];
  /** diffusers' guess-mode factor of each residual (logspace(−1, 0, n) in float32). */
  guessScales: Float32Array;
}

/** How one ControlNet's outputs enter the sum. */
export interface ResidualContribution {
  outputs: readonly ort.Tensor[];
  /** Scale still to apply (1 when the graph applied the conditioning scale itself). */
  scale: number;
}

/** The latent size the UNet runs at, which pooled [b, C, 1, 1] residuals are broadcast to. */
export interface LatentSize {
  height: number;
  width: number;
}

/** Height or width at a residual level: each stride-2 conv (padding 1) maps n to ceil(n / 2). */
function atLevel(n: number, level: number): number {
  for (let i = 0; i < level; i++) n = Math.ceil(n / 2);
  return n;
}

/**
 * Combines the ControlNets' outputs into the UNet's residual inputs (12 + 1 for SD 1.x/2.x): MultiControlNet's sum, conditioning
 * scales, guess mode (ControlNets saw only the conditional half of the batch; the unconditional half gets zeros, as
 * diffusers concatenates), and pooled ControlNets (shuffle), whose [b, C, 1, 1] outputs broadcast over height and
 * width as diffusers' addition does. Buffers are allocated on the first step and reused. One ControlNet with nothing
 * to scale passes its tensors through; one float16 ControlNet feeding a float16 UNet is scaled half to half
 * through a lookup table, never through a float32 copy; several ControlNets with float16 in play are summed by a
 * small onnxruntime graph (scripts/bench-residual-mix.ts has the costs).
 */
export class ResidualMixer {
  private acc: Float32Array[] = [];
  private scratch: Float32Array[] = [];
  private half: Uint16Array[] = [];
  private readonly halfTables = new Map<number, Uint16Array>();

  constructor(
    private readonly unetType: FloatType,
    private readonly guessMode: boolean,
    /** UNet batch / ControlNet batch: 2 in guess mode with CFG, else 1. */
    private readonly batchFactor: number,
    private readonly latent: LatentSize,
    private readonly plan: ResidualPlan,
  ) {}

  async mix(contributions: readonly ResidualContribution[]): Promise<ort.Tensor[]> {
    const first = contributions[0]!;
    const passThrough =
      contributions.length === 1 &&
      !this.guessMode &&
      first.scale === 1 &&
      this.batchFactor === 1 &&
      first.outputs.every((t, r) => t.type === this.unetType && !this.broadcasts(t, r));
    if (passThrough) return [...first.outputs];
    // float16 sums go to onnxruntime (vectorised casts); float32 ones are as fast in JS (two passes, not three).
    const anyHalf = this.unetType === 'float16' || contributions.some((c) => c.outputs[0]!.type === 'float16');
    if (contributions.length > 1 && anyHalf && contributions.every((c) => c.outputs.every((t, r) => !this.broadcasts(t, r)))) {
      return this.sumInGraph(contributions);
    }

    const result: ort.Tensor[] = [];
    for (let r = 0; r < this.plan.levels.length; r++) {
      const dims = this.targetDims(first.outputs[r]!, r);
      const cnSize = dims[0]! * dims[1]! * dims[2]! * dims[3]!;
      const outDims = [dims[0]! * this.batchFactor, dims[1]!, dims[2]!, dims[3]!];
      const guess = this.guessMode ? this.plan.guessScales[r]! : 1;
      const only = contributions.length === 1 ? first.outputs[r]! : null;
      if (only && this.unetType === 'float16' && only.type === 'float16' && !this.broadcasts(only, r)) {
        result.push(new ort.Tensor('float16', this.halfDirect(only.data as Uint16Array, r, cnSize, first.scale * guess), outDims));
        continue;
      }
      if (this.unetType === 'float16' && contributions.every((c) => !this.broadcasts(c.outputs[r]!, r))) {
        if (!this.half[r]) this.half[r] = new Uint16Array(cnSize * this.batchFactor);
        const sources = contributions.map((c) => ({ data: c.outputs[r]!.data as Float32Array | Uint16Array, scale: c.scale * guess }));
        mixIntoHalf(this.half[r]!, this.half[r]!.length - cnSize, sources);
        result.push(new ort.Tensor('float16', this.half[r]!, outDims));
        continue;
      }
      if (!this.acc[r]) this.acc[r] = new Float32Array(cnSize * this.batchFactor);
      const acc = this.acc[r]!;
      // With guess mode + CFG the ControlNet output fills the second (conditional) half; the first stays 0.
      const offset = acc.length - cnSize;
      contributions.forEach((c, k) => {
        const t = c.outputs[r]!;
        const pooled = this.broadcasts(t, r);
        const values = this.read(t, r, pooled);
        const s = c.scale * guess;
        if (pooled) {
          if (k === 0) acc.fill(0, offset);
          broadcastAddInto(acc, values, s, offset, dims[2]! * dims[3]!);
        } else if (k === 0) {
          scaleInto(acc, values, s, offset);
        } else {
          addScaledInto(acc, values, s, offset);
        }
      });
      if (this.unetType === 'float16') {
        if (!this.half[r]) this.half[r] = new Uint16Array(acc.length);
        result.push(new ort.Tensor('float16', float32ToFloat16(acc, this.half[r]), outDims));
      } else {
        result.push(new ort.Tensor('float32', acc, outDims));
      }
    }
    return result;
  }

  /** Several full-size ControlNets with float16 in play: summed by onnxruntime (residual-sum-graph.ts). */
  private async sumInGraph(contributions: readonly ResidualContribution[]): Promise<ort.Tensor[]> {
    const session = await residualSumSession({
      inputs: contributions.map((c) => c.outputs[0]!.type as FloatType),
      unetType: this.unetType,
      residuals: this.plan.levels.length,
      guessScales: this.guessMode ? Array.from(this.plan.guessScales) : null,
      batchFactor: this.batchFactor,
    });
    const feeds: Record<string, ort.Tensor> = {};
    contributions.forEach((c, k) => {
      feeds[scaleName(k)] = new ort.Tensor('float32', Float32Array.of(c.scale), []);
      c.outputs.forEach((t, r) => (feeds[inputName(r, k)] = t));
    });
    const out = await session.run(feeds);
    return Array.from({ length: this.plan.levels.length }, (_, r) => out[outputName(r)] as ort.Tensor);
  }

  /** [ControlNet batch, C, h, w] of the UNet's residual r at this latent size. */
  private targetDims(t: ort.Tensor, r: number): number[] {
    const level = this.plan.levels[r]!;
    return [t.dims[0]!, t.dims[1]!, atLevel(this.latent.height, level), atLevel(this.latent.width, level)];
  }

  /** Whether output `t` is a pooled [b, C, 1, 1] one to spread over residual r's height and width. */
  private broadcasts(t: ort.Tensor, r: number): boolean {
    const [, , h, w] = this.targetDims(t, r);
    if (t.dims[2] === h && t.dims[3] === w) return false;
    if (t.dims[2] === 1 && t.dims[3] === 1) return true;
    throw new Error(`ControlNet residual ${r} is ${t.dims.join('x')}; the UNet takes ${h}x${w} there`);
  }

  private halfDirect(src: Uint16Array, r: number, cnSize: number, scale: number): Uint16Array {
    if (!this.half[r]) this.half[r] = new Uint16Array(cnSize * this.batchFactor);
    const out = this.half[r]!;
    const offset = out.length - cnSize;
    if (scale === 1) {
      out.set(src, offset);
    } else {
      let table = this.halfTables.get(scale);
      if (!table) this.halfTables.set(scale, (table = halfScaleTable(scale)));
      scaleHalfInto(out, src, table, offset);
    }
    return out;
  }

  /** Float32 values of an output (a view when it already is float32); half outputs share one scratch per shape. */
  private read(t: ort.Tensor, r: number, pooled: boolean): Float32Array {
    if (t.type === 'float32') return t.data as Float32Array;
    const key = 2 * r + (pooled ? 1 : 0);
    if (!this.scratch[key]) this.scratch[key] = new Float32Array(t.size);
    return float16ToFloat32(t.data as Uint16Array, this.scratch[key]);
  }
}
