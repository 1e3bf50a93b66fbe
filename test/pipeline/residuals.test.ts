/** The ResidualMixer on synthetic ControlNet outputs: pass-through, sums and scales, guess mode, pooled broadcast, float16. */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { guessModeScales } from '../../src/pipeline/model-description.js';
import { ResidualMixer } from '../../src/pipeline/residuals.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/tensor/float16.js';

const LATENT = { height: 5, width: 6 };
/** SD 1.x/2.x: 3 residuals per level, the mid one at the last; guess mode logspace(-1, 0, 13). */
const RESIDUAL_LEVELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3];
const GUESS_MODE_SCALES = guessModeScales(13);
const SD = { levels: RESIDUAL_LEVELS, guessScales: GUESS_MODE_SCALES };
const CHANNELS = [2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4];
const side = (n: number, level: number): number => (level === 0 ? n : side(Math.ceil(n / 2), level - 1));

/** 13 outputs of batch `b` at LATENT, values from `f(residual, index)`; pooled ones are [b, C, 1, 1]. */
function outputs(b: number, f: (r: number, i: number) => number, opts: { pooled?: boolean; half?: boolean } = {}): ort.Tensor[] {
  return CHANNELS.map((c, r) => {
    const dims = opts.pooled ? [b, c, 1, 1] : [b, c, side(LATENT.height, RESIDUAL_LEVELS[r]!), side(LATENT.width, RESIDUAL_LEVELS[r]!)];
    const data = Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, (_, i) => f(r, i));
    return opts.half ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
  });
}

const values = (t: ort.Tensor) => (t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));

describe('ResidualMixer', () => {
  it("passes one unscaled ControlNet's tensors through", async () => {
    const outs = outputs(2, (r, i) => r + i);
    const mixed = await new ResidualMixer('float32', false, 1, LATENT, SD).mix([{ outputs: outs, scale: 1 }]);
    mixed.forEach((t, r) => expect(t).toBe(outs[r]));
  });

  it('sums scaled ControlNets', async () => {
    const a = outputs(2, (r, i) => r + 0.5 * i);
    const b = outputs(2, (r, i) => 1 - i);
    const mixed = await new ResidualMixer('float32', false, 1, LATENT, SD).mix([
      { outputs: a, scale: 0.5 },
      { outputs: b, scale: 2 },
    ]);
    mixed.forEach((t, r) => {
      expect(t.dims).toEqual(a[r]!.dims);
      values(t).forEach((v, i) => expect(v).toBeCloseTo(0.5 * (r + 0.5 * i) + 2 * (1 - i), 5));
    });
  });

  it('puts guess-mode residuals in the conditional half, scaled by logspace(-1, 0, 13), zeros in the other', async () => {
    const outs = outputs(1, () => 1);
    const mixed = await new ResidualMixer('float32', true, 2, LATENT, SD).mix([{ outputs: outs, scale: 0.8 }]);
    mixed.forEach((t, r) => {
      const v = values(t);
      const half = v.length / 2;
      expect(t.dims[0]).toBe(2);
      expect(v.subarray(0, half).every((x) => x === 0)).toBe(true);
      expect(v[half]).toBeCloseTo(0.8 * GUESS_MODE_SCALES[r]!, 6);
    });
  });

  it("broadcasts a pooled ControlNet over each residual's height and width, beside a full-size one", async () => {
    const pooled = outputs(2, (r, i) => 10 * r + i, { pooled: true });
    const full = outputs(2, () => 0.25);
    const mixed = await new ResidualMixer('float32', false, 1, LATENT, SD).mix([
      { outputs: pooled, scale: 2 },
      { outputs: full, scale: 1 },
    ]);
    mixed.forEach((t, r) => {
      const [b, c, h, w] = t.dims as number[];
      expect([b, c]).toEqual([2, CHANNELS[r]]);
      expect([h, w]).toEqual([side(LATENT.height, RESIDUAL_LEVELS[r]!), side(LATENT.width, RESIDUAL_LEVELS[r]!)]);
      const v = values(t);
      for (let bc = 0; bc < b! * c!; bc++) for (let p = 0; p < h! * w!; p++) expect(v[bc * h! * w! + p]).toBeCloseTo(2 * (10 * r + bc) + 0.25, 4);
    });
  });

  it('broadcasts a lone pooled ControlNet too (no pass-through of 1x1 tensors)', async () => {
    const mixed = await new ResidualMixer('float32', false, 1, LATENT, SD).mix([{ outputs: outputs(1, () => 3, { pooled: true }), scale: 1 }]);
    expect(mixed[0]!.dims).toEqual([1, CHANNELS[0], LATENT.height, LATENT.width]);
    expect(values(mixed[12]!).every((v) => v === 3)).toBe(true);
  });

  it('scales float16 to float16 as the float32 path does, bit for bit', async () => {
    const f = (r: number, i: number) => Math.sin(r + 0.1 * i) * 3;
    const direct = await new ResidualMixer('float16', false, 1, LATENT, SD).mix([{ outputs: outputs(2, f, { half: true }), scale: 0.7 }]);
    // The same sum through the float32 accumulator: a float32 ControlNet holding the half values.
    const viaFloat32 = await new ResidualMixer('float16', false, 1, LATENT, SD).mix([
      { outputs: outputs(2, f, { half: true }).map((t) => new ort.Tensor('float32', values(t), t.dims)), scale: 0.7 },
    ]);
    direct.forEach((t, r) => {
      expect(t.type).toBe('float16');
      expect(Array.from(t.data as Uint16Array)).toEqual(Array.from(viaFloat32[r]!.data as Uint16Array));
    });
  });

  it("rejects an output whose size is neither the residual's nor 1x1", async () => {
    const outs = outputs(1, () => 0);
    outs[4] = new ort.Tensor('float32', new Float32Array(3 * 2 * 2), [1, 3, 2, 2]);
    await expect(new ResidualMixer('float32', false, 1, LATENT, SD).mix([{ outputs: outs, scale: 1 }])).rejects.toThrow(/residual 4 is 1x3x2x2/);
  });
});

describe('several ControlNets, summed by onnxruntime', () => {
  it('adds float16 and float32 ControlNets in guess mode: zeros first, then Σ scale · output · guess factor', async () => {
    const a = outputs(1, (r, i) => Math.sin(r + i), { half: true });
    const b = outputs(1, (r, i) => 0.5 - 0.01 * i);
    const mixed = await new ResidualMixer('float16', true, 2, LATENT, SD).mix([
      { outputs: a, scale: 0.9 },
      { outputs: b, scale: 0.4 },
    ]);
    mixed.forEach((t, r) => {
      expect(t.type).toBe('float16');
      expect(t.dims).toEqual([2, ...a[r]!.dims.slice(1)]);
      const v = values(t);
      const half = v.length / 2;
      expect(v.subarray(0, half).every((x) => x === 0)).toBe(true);
      const [va, vb] = [values(a[r]!), values(b[r]!)];
      for (let i = 0; i < half; i++) {
        const want = (0.9 * va[i]! + 0.4 * vb[i]!) * GUESS_MODE_SCALES[r]!;
        // One rounding to half: within half a float16 ulp (2^-11 relative) plus float32 noise.
        expect(Math.abs(v[half + i]! - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -11 + 1e-6);
      }
    });
  });
});

describe('residual kernels', () => {
  it('scale halves through the table at any alignment and length, as the float32 path rounds', async () => {
    const { halfScaleTable, scaleHalfInto, mixIntoHalf } = await import('../../src/pipeline/residual-kernels.js');
    const src = float32ToFloat16(Float32Array.from({ length: 9001 }, (_, i) => Math.sin(i) * 100));
    const table = halfScaleTable(0.37);
    const viaFloat32 = new Uint16Array(9001);
    mixIntoHalf(viaFloat32, 0, [{ data: src, scale: 0.37 }]);
    for (const [from, offset] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const) {
      const part = src.subarray(from);
      const out = new Uint16Array(part.length + offset);
      scaleHalfInto(out, part, table, offset);
      expect(Array.from(out.subarray(offset))).toEqual(Array.from(viaFloat32.subarray(from)));
    }
  });
});
