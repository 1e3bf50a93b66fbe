/** Each layer helper, run in onnxruntime-node, against a plain JavaScript reference of the torch module. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/onnx/graph.js';
import { gelu, quickGelu, silu } from '../../scripts/tiny-models/layers/activation.js';
import { attention } from '../../scripts/tiny-models/layers/attention.js';
import { conv2d } from '../../scripts/tiny-models/layers/conv.js';
import { linear } from '../../scripts/tiny-models/layers/linear.js';
import { groupNorm, layerNorm } from '../../scripts/tiny-models/layers/norm.js';
import { resizeNearest2x, resizeNearestTo } from '../../scripts/tiny-models/layers/spatial.js';
import { f32, floats, initializerValues, maxAbsDiff, runGraph, wave } from './helpers.js';

const graph = (storage: 'float32' | 'float16' = 'float32') => new GraphBuilder('test', { seed: 3, storage });
const TOL = 2e-5;

describe('linear', () => {
  it('is x W + b with W stored [in, out]', async () => {
    const g = graph();
    g.output(linear(g, g.input('x', 'float32', [2, 3, 5]), 'fc', { inFeatures: 5, outFeatures: 4 }), 'y', 'float32', [2, 3, 4]);
    const x = wave(30);
    const y = floats((await runGraph(g, { x: f32(x, [2, 3, 5]) })).y);
    const w = initializerValues(g, 'fc.weight');
    const b = initializerValues(g, 'fc.bias');
    const ref = new Float32Array(24);
    for (let r = 0; r < 6; r++)
      for (let o = 0; o < 4; o++) {
        let s = b[o]!;
        for (let i = 0; i < 5; i++) s += x[r * 5 + i]! * w[i * 4 + o]!;
        ref[r * 4 + o] = s;
      }
    expect(maxAbsDiff(y, ref)).toBeLessThan(TOL);
  });

  it('stores float16 weights and computes with their float32 values', async () => {
    const build = (storage: 'float32' | 'float16') => {
      const g = graph(storage);
      g.output(linear(g, g.input('x', 'float32', [1, 8]), 'fc', { inFeatures: 8, outFeatures: 3 }), 'y', 'float32', [1, 3]);
      return g;
    };
    const half = build('float16');
    expect(half.initializers.find((i) => i.name === 'fc.weight')?.dtype).toBe('float16');
    const x = f32(wave(8), [1, 8]);
    const a = floats((await runGraph(build('float32'), { x })).y);
    const b = floats((await runGraph(half, { x })).y);
    const diff = maxAbsDiff(a, b);
    expect(diff).toBeGreaterThan(0); // the weights really were rounded
    expect(diff).toBeLessThan(5e-3);
  });
});

describe('conv2d', () => {
  it('matches a direct convolution with asymmetric padding and stride 2 (VAE downsampling)', async () => {
    const g = graph();
    const spec = { inChannels: 2, outChannels: 3, kernel: 3, stride: 2, pads: [0, 0, 1, 1] as const };
    g.output(conv2d(g, g.input('x', 'float32', [1, 2, 5, 6]), 'c', spec), 'y', 'float32', [1, 3, 2, 3]);
    const x = wave(60);
    const y = (await runGraph(g, { x: f32(x, [1, 2, 5, 6]) })).y!;
    expect(y.dims).toEqual([1, 3, 2, 3]); // floor(5/2), floor(6/2)
    const w = initializerValues(g, 'c.weight');
    const b = initializerValues(g, 'c.bias');
    const ref = new Float32Array(18);
    for (let o = 0; o < 3; o++)
      for (let oy = 0; oy < 2; oy++)
        for (let ox = 0; ox < 3; ox++) {
          let s = b[o]!;
          for (let c = 0; c < 2; c++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 + ky;
                const ix = ox * 2 + kx;
                if (iy < 5 && ix < 6) s += x[(c * 5 + iy) * 6 + ix]! * w[((o * 2 + c) * 3 + ky) * 3 + kx]!;
              }
          ref[(o * 2 + oy) * 3 + ox] = s;
        }
    expect(maxAbsDiff(floats(y), ref)).toBeLessThan(TOL);
  });
});

describe('normalisation', () => {
  it('groupNorm normalises each group of channels over space', async () => {
    const g = graph();
    g.output(groupNorm(g, g.input('x', 'float32', ['n', 6, 'h', 'w']), 'gn', { channels: 6, groups: 3, eps: 1e-5 }), 'y', 'float32', ['n', 6, 'h', 'w']);
    const x = wave(2 * 6 * 3 * 4, 1).map((v, i) => v * (1 + (i % 7)) + (i % 5));
    const y = floats((await runGraph(g, { x: f32(x, [2, 6, 3, 4]) })).y);
    const ref = new Float32Array(x.length);
    const groupSize = 2 * 12; // channels per group x spatial
    for (let start = 0; start < x.length; start += groupSize) {
      let mean = 0;
      for (let i = 0; i < groupSize; i++) mean += x[start + i]!;
      mean /= groupSize;
      let variance = 0;
      for (let i = 0; i < groupSize; i++) variance += (x[start + i]! - mean) ** 2;
      variance /= groupSize;
      for (let i = 0; i < groupSize; i++) ref[start + i] = (x[start + i]! - mean) / Math.sqrt(variance + 1e-5);
    }
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-4);
  });

  it('layerNorm normalises the last axis', async () => {
    const g = graph();
    g.output(layerNorm(g, g.input('x', 'float32', [3, 8]), 'ln', { dim: 8, eps: 1e-5 }), 'y', 'float32', [3, 8]);
    const x = wave(24, 2).map((v, i) => 3 * v + i);
    const y = floats((await runGraph(g, { x: f32(x, [3, 8]) })).y);
    for (let r = 0; r < 3; r++) {
      const row = Array.from(y.subarray(r * 8, r * 8 + 8));
      const mean = row.reduce((a, b) => a + b) / 8;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(variance).toBeCloseTo(1, 3);
    }
  });
});

function referenceAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  lq: number,
  lk: number,
  heads: number,
  d: number,
  mask?: Float32Array,
): Float32Array {
  const width = heads * d;
  const out = new Float32Array(lq * width);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < lq; i++) {
      const scores = new Float64Array(lk);
      for (let j = 0; j < lk; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[i * width + h * d + c]! * k[j * width + h * d + c]!;
        scores[j] = s / Math.sqrt(d) + (mask?.[i * lk + j] ?? 0);
      }
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b);
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j < lk; j++) s += (exps[j]! / total) * v[j * width + h * d + c]!;
        out[i * width + h * d + c] = s;
      }
    }
  return out;
}

describe('attention', () => {
  for (const heads of [1, 2]) {
    it(`matches softmax(q k^T / sqrt(d)) v with ${heads} head(s), cross-attention lengths`, async () => {
      const d = 4;
      const g = graph();
      const q = g.input('q', 'float32', [1, 3, heads * d]);
      const k = g.input('k', 'float32', [1, 5, heads * d]);
      const v = g.input('v', 'float32', [1, 5, heads * d]);
      g.output(attention(g, q, k, v, { heads, headDim: d }), 'y', 'float32', [1, 3, heads * d]);
      const [qv, kv, vv] = [wave(3 * heads * d, 0), wave(5 * heads * d, 1), wave(5 * heads * d, 2)].map((a) => a.map((x) => 3 * x));
      const y = floats((await runGraph(g, { q: f32(qv!, [1, 3, heads * d]), k: f32(kv!, [1, 5, heads * d]), v: f32(vv!, [1, 5, heads * d]) })).y);
      expect(maxAbsDiff(y, referenceAttention(qv!, kv!, vv!, 3, 5, heads, d))).toBeLessThan(TOL);
    });
  }

  it('adds the mask to the scores (a causal mask hides later positions)', async () => {
    const g = graph();
    const x = g.input('x', 'float32', [1, 3, 4]);
    const mask = new Float32Array([0, -1e30, -1e30, 0, 0, -1e30, 0, 0, 0]);
    g.output(attention(g, x, x, x, { heads: 2, headDim: 2, mask: g.float32(mask, [3, 3]) }), 'y', 'float32', [1, 3, 4]);
    const xv = wave(12, 3);
    const y = floats((await runGraph(g, { x: f32(xv, [1, 3, 4]) })).y);
    expect(maxAbsDiff(y, referenceAttention(xv, xv, xv, 3, 3, 2, 2, mask))).toBeLessThan(TOL);
    expect(maxAbsDiff(y.subarray(0, 4), xv.subarray(0, 4))).toBeLessThan(1e-6); // the first token sees only itself
  });
});

describe('resampling', () => {
  it('resizes to the size of another tensor with torch nearest semantics (floor(dst * in / out))', async () => {
    const g = graph();
    const x = g.input('x', 'float32', [1, 2, 'h', 'w']);
    const like = g.input('like', 'float32', [1, 1, 'H', 'W']);
    g.output(resizeNearestTo(g, x, like), 'y', 'float32', [1, 2, 'H', 'W']);
    const xv = Float32Array.from({ length: 12 }, (_, i) => i);
    const y = (await runGraph(g, { x: f32(xv, [1, 2, 2, 3]), like: f32(new Float32Array(15), [1, 1, 3, 5]) })).y!;
    expect(y.dims).toEqual([1, 2, 3, 5]);
    const ref: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) ref.push(xv[c * 6 + Math.floor((i * 2) / 3) * 3 + Math.floor((j * 3) / 5)]!);
    expect(Array.from(floats(y))).toEqual(ref);
  });

  it('doubles the size', async () => {
    const g = graph();
    g.output(resizeNearest2x(g, g.input('x', 'float32', [1, 1, 2, 2])), 'y', 'float32', [1, 1, 4, 4]);
    const y = floats((await runGraph(g, { x: f32(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]) })).y);
    expect(Array.from(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});

describe('activations', () => {
  it('computes SiLU, exact GELU and quick GELU', async () => {
    const g = graph();
    const x = g.input('x', 'float32', [9]);
    g.output(silu(g, x), 'silu', 'float32', [9]);
    g.output(gelu(g, x), 'gelu', 'float32', [9]);
    g.output(quickGelu(g, x), 'quick', 'float32', [9]);
    const xv = new Float32Array([-4, -2, -1, -0.5, 0, 0.5, 1, 2, 4]);
    const out = await runGraph(g, { x: f32(xv, [9]) });
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    // erf(x / sqrt2) at the sample points, from the normal CDF: Phi(x) = (1 + erf(x / sqrt2)) / 2.
    const phi = [3.167124183e-5, 0.02275013195, 0.1586552539, 0.3085375387, 0.5, 0.6914624613, 0.8413447461, 0.9772498681, 0.9999683288];
    expect(
      maxAbsDiff(
        floats(out.silu),
        Array.from(xv, (v) => v * sigmoid(v)),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        floats(out.gelu),
        Array.from(xv, (v, i) => v * phi[i]!),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        floats(out.quick),
        Array.from(xv, (v) => v * sigmoid(1.702 * v)),
      ),
    ).toBeLessThan(1e-6);
  });
});
