import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GUESS_MODE_SCALES, ResidualMixer } from '../../src/pipeline/residuals.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/tensor/float16.js';

/** 13 residual tensors [batch, 2, 1, 2] whose values encode (controlnet k, residual r, element j). */
function outputs(k: number, batch: number, type: 'float32' | 'float16' = 'float32'): ort.Tensor[] {
  return Array.from({ length: 13 }, (_, r) => {
    const data = Float32Array.from({ length: batch * 4 }, (_, j) => (k + 1) * 100 + r + j / 8);
    return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), [batch, 2, 1, 2]) : new ort.Tensor('float32', data, [batch, 2, 1, 2]);
  });
}

describe('ResidualMixer (diffusers MultiControlNet / guess-mode semantics)', () => {
  it('passes a single unscaled ControlNet through without copying', () => {
    const outs = outputs(0, 2);
    const mixed = new ResidualMixer('float32', false, 1).mix([{ outputs: outs, scale: 1 }]);
    mixed.forEach((t, r) => expect(t).toBe(outs[r]));
  });

  it('sums ControlNets, each times its conditioning scale', () => {
    const a = outputs(0, 2);
    const b = outputs(1, 2);
    const mixed = new ResidualMixer('float32', false, 1).mix([{ outputs: a, scale: 0.5 }, { outputs: b, scale: 2 }]);
    for (let r = 0; r < 13; r++) {
      const got = mixed[r].data as Float32Array;
      const ea = a[r].data as Float32Array;
      const eb = b[r].data as Float32Array;
      got.forEach((v, j) => expect(v).toBeCloseTo(0.5 * ea[j] + 2 * eb[j], 4));
      expect(mixed[r].dims).toEqual([2, 2, 1, 2]);
    }
  });

  it('guess mode with CFG: zeros for the unconditional half, residual i scaled by 10^(-1+i/12)', () => {
    expect(GUESS_MODE_SCALES[0]).toBeCloseTo(0.1, 12);
    expect(GUESS_MODE_SCALES[12]).toBeCloseTo(1, 12);
    expect(GUESS_MODE_SCALES[6]).toBeCloseTo(10 ** -0.5, 12);
    const cn = outputs(0, 1);
    const mixer = new ResidualMixer('float32', true, 2);
    for (let step = 0; step < 2; step++) {
      const mixed = mixer.mix([{ outputs: cn, scale: 0.8 }]);
      for (let r = 0; r < 13; r++) {
        expect(mixed[r].dims).toEqual([2, 2, 1, 2]);
        const got = mixed[r].data as Float32Array;
        const src = cn[r].data as Float32Array;
        for (let j = 0; j < 4; j++) {
          expect(got[j]).toBe(0);
          expect(got[4 + j]).toBeCloseTo(src[j] * 0.8 * GUESS_MODE_SCALES[r], 3);
        }
      }
    }
  });

  it('works in float16 end to end (Uint16Array in, Uint16Array out)', () => {
    const a = outputs(0, 2, 'float16');
    const b = outputs(1, 2, 'float16');
    const mixed = new ResidualMixer('float16', false, 1).mix([{ outputs: a, scale: 1 }, { outputs: b, scale: 1 }]);
    expect(mixed[3].type).toBe('float16');
    const got = float16ToFloat32(mixed[3].data as Uint16Array);
    const ea = float16ToFloat32(a[3].data as Uint16Array);
    const eb = float16ToFloat32(b[3].data as Uint16Array);
    got.forEach((v, j) => expect(Math.abs(v - (ea[j] + eb[j]))).toBeLessThan(0.25)); // half precision at ~300
  });
});
