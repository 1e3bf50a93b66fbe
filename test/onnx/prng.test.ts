import { describe, expect, it } from 'vitest';
import { fillUniform, streamSeed } from '../../src/onnx/prng.js';

describe('weight randomness', () => {
  it('draws uniform values in [-bound, bound) with the uniform variance', () => {
    const values = new Float32Array(200_000);
    fillUniform(values, 12345, 0.5);
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      sum += v;
      sumSq += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-0.5);
    expect(min).toBeLessThan(-0.499);
    expect(max).toBeLessThan(0.5);
    expect(max).toBeGreaterThan(0.499);
    expect(Math.abs(sum / values.length)).toBeLessThan(0.005);
    expect(sumSq / values.length).toBeCloseTo(0.25 / 3, 3);
  });

  it('is deterministic per stream and differs between streams', () => {
    const draw = (seed: number) => {
      const v = new Float32Array(16);
      fillUniform(v, seed, 1);
      return Array.from(v);
    };
    expect(draw(streamSeed(7, 'conv_in.weight'))).toEqual(draw(streamSeed(7, 'conv_in.weight')));
    expect(draw(streamSeed(7, 'conv_in.weight'))).not.toEqual(draw(streamSeed(7, 'conv_in.bias')));
    expect(draw(streamSeed(7, 'conv_in.weight'))).not.toEqual(draw(streamSeed(8, 'conv_in.weight')));
    expect(streamSeed(7, 'a')).toBe(streamSeed(7, 'a'));
  });
});
