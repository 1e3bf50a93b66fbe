import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CpuCapability, TorchGenerator, toTorchSeed } from '../../src/math/torch-generator.js';
import type { NoiseSource } from '../../src/schedulers/types.js';
import { GOLDEN_DIR } from '../helpers/golden.js';

// torch 1.13 output, recorded by the team (see test/fixtures/golden/README.md).
const GOLDEN_PATH = join(GOLDEN_DIR, 'randn.json');

interface Draw {
  numel: number;
  first64: number[];
  last16: number[];
  sum: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  values?: number[];
  strided_1024?: { indices: number[]; values: number[] };
}
interface Case extends Draw {
  seed: number;
  shape: number[];
}
interface CapabilityGolden {
  cases: Case[];
  sequential: { seed: number; shapes: number[][]; draws: Draw[] }[];
  float64_seed42_shape17: number[];
}
interface Golden {
  capabilities: Record<CpuCapability, CapabilityGolden>;
  avx2_vs_default: {
    seed: number;
    shape: number[];
    first64_elements_differing: number;
    first64_max_abs_diff: number;
    sum_avx2: number;
    sum_default: number;
  }[];
}

const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden;
const TOLERANCE = 1e-5;
const CAPABILITIES: CpuCapability[] = ['avx2', 'default'];

/** [index, expected] pairs of everything a golden draw pins down element-wise. */
function expectedElements(draw: Draw): [number, number][] {
  const pairs: [number, number][] = [];
  draw.first64.forEach((v, i) => pairs.push([i, v]));
  draw.last16.forEach((v, i) => pairs.push([draw.numel - draw.last16.length + i, v]));
  draw.values?.forEach((v, i) => pairs.push([i, v]));
  draw.strided_1024?.indices.forEach((index, k) => pairs.push([index, draw.strided_1024!.values[k]!]));
  return pairs;
}

interface Comparison {
  worst: number;
  /** Elements whose float32 value is not exactly the golden one. */
  inexact: number;
  compared: number;
  /** Our sum, in double. Sums of these floats are exact in double, so a bit-exact draw gives exactly the golden sum. */
  sum: number;
}

function compareDraw(got: Float32Array, draw: Draw): Comparison {
  let worst = 0;
  let inexact = 0;
  const pairs = expectedElements(draw);
  for (const [i, v] of pairs) {
    worst = Math.max(worst, Math.abs(got[i]! - v));
    if (got[i] !== Math.fround(v)) inexact++;
  }
  // Statistics as the golden file records them: in double, population std (numpy's default).
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of got) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / got.length;
  let squares = 0;
  for (const v of got) squares += (v - mean) ** 2;
  const std = Math.sqrt(squares / got.length);
  for (const [a, b] of [
    [sum, draw.sum],
    [mean, draw.mean],
    [std, draw.std],
    [min, draw.min],
    [max, draw.max],
  ] as const) {
    worst = Math.max(worst, Math.abs(a - b));
  }
  return { worst, inexact, compared: pairs.length, sum };
}

describe.each(CAPABILITIES)('TorchGenerator, capability %s, against torch', (capability) => {
  const caps = golden.capabilities[capability];

  it.each(caps.cases.map((c) => [`seed ${c.seed}, shape [${c.shape.join(',')}]`, c] as const))('randn %s', (_name, c) => {
    const got = new TorchGenerator(c.seed, { capability }).randn(c.numel);
    expect(got).toHaveLength(c.numel);
    const { worst, inexact, compared, sum } = compareDraw(got, c);
    expect(compared).toBeGreaterThanOrEqual(Math.min(c.numel, 16));
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    // Stronger than the tolerance: every element is torch's float32 value, bit for bit
    // (the compared ones directly, the others through the exact sum).
    expect(inexact).toBe(0);
    expect(sum).toBe(c.sum);
  });

  it('continues one stream over successive draws, scalar cache included', () => {
    for (const run of caps.sequential) {
      const generator = new TorchGenerator(run.seed, { capability });
      for (const draw of run.draws) {
        const { worst, inexact, sum } = compareDraw(generator.randn(draw.numel), draw);
        expect(worst).toBeLessThanOrEqual(TOLERANCE);
        expect(inexact).toBe(0);
        expect(sum).toBe(draw.sum);
      }
    }
  });

  it('draws float64 like torch.randn(17, dtype=torch.float64)', () => {
    const got = new TorchGenerator(42, { capability }).randnFloat64(17);
    const expected = caps.float64_seed42_shape17;
    let worst = 0;
    for (let i = 0; i < 17; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    // V8's log/sin/cos are not glibc's: an ulp of double apart at most here.
    expect(worst).toBeLessThan(1e-15);
  });
});

describe('TorchGenerator, avx2 against default', () => {
  it.each(golden.avx2_vs_default.map((e) => [`seed ${e.seed}, shape [${e.shape.join(',')}]`, e] as const))(
    'sums and first-64 differences for %s',
    (_name, e) => {
      const numel = e.shape.reduce((a, b) => a * b, 1);
      const avx2 = new TorchGenerator(e.seed, { capability: 'avx2' }).randn(numel);
      const scalar = new TorchGenerator(e.seed, { capability: 'default' }).randn(numel);
      const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
      expect(Math.abs(sum(avx2) - e.sum_avx2)).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(sum(scalar) - e.sum_default)).toBeLessThanOrEqual(TOLERANCE);
      expect([sum(avx2), sum(scalar)]).toEqual([e.sum_avx2, e.sum_default]); // bit-exact draws
      let differing = 0;
      let maxDiff = 0;
      for (let i = 0; i < Math.min(64, numel); i++) {
        if (avx2[i] !== scalar[i]) differing++;
        maxDiff = Math.max(maxDiff, Math.abs(avx2[i]! - scalar[i]!));
      }
      expect(differing).toBe(e.first64_elements_differing);
      expect(Math.abs(maxDiff - e.first64_max_abs_diff)).toBeLessThan(1e-7);
    },
  );
});

describe('TorchGenerator seeds', () => {
  it('stores the seed as torch does: unsigned 64-bit, negatives modulo 2^64', () => {
    expect(new TorchGenerator(42).initialSeed).toBe(42n);
    expect(new TorchGenerator(-1).initialSeed).toBe(2n ** 64n - 1n);
    expect(new TorchGenerator(2n ** 63n + 5n).initialSeed).toBe(2n ** 63n + 5n);
    expect(toTorchSeed(-(2n ** 63n))).toBe(2n ** 63n);
  });

  it('uses only the low 32 bits for mt19937, as torch does', () => {
    const reference = new TorchGenerator(4294967295).randn(64);
    expect(new TorchGenerator(-1).randn(64)).toEqual(reference);
    expect(new TorchGenerator(2n ** 64n - 1n).randn(64)).toEqual(reference);
    expect(new TorchGenerator(2 ** 32).randn(20)).toEqual(new TorchGenerator(0).randn(20));
    expect(new TorchGenerator(2 ** 40 + 42).randn(7)).toEqual(new TorchGenerator(42).randn(7));
  });

  it('rejects what torch.manual_seed rejects, and non-integers', () => {
    expect(() => new TorchGenerator(1.5)).toThrow(RangeError);
    expect(() => new TorchGenerator(NaN)).toThrow(RangeError);
    expect(() => new TorchGenerator(2n ** 64n)).toThrow(RangeError);
    expect(() => new TorchGenerator(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });

  it('manualSeed restarts the stream and drops the cached normal', () => {
    const generator = new TorchGenerator(7);
    generator.randn(3); // leaves the sine half of a pair in the cache
    generator.manualSeed(42);
    const fresh = new TorchGenerator(42);
    expect(generator.randn(7)).toEqual(fresh.randn(7));
    expect(generator.randn(100)).toEqual(fresh.randn(100));
  });
});

describe('TorchGenerator API', () => {
  it('is a NoiseSource whose randnInto fills in place like randn', () => {
    const source: NoiseSource = new TorchGenerator(3);
    const out = new Float32Array(100);
    expect(new TorchGenerator(3, { capability: 'avx2' }).randnInto(out)).toBe(out);
    expect(source.randn(100)).toEqual(out);
  });

  it('draws nothing for an empty tensor', () => {
    const generator = new TorchGenerator(5);
    expect(generator.randn(0)).toHaveLength(0);
    expect(generator.randnFloat64(0)).toHaveLength(0);
    expect(generator.randn(40)).toEqual(new TorchGenerator(5).randn(40));
  });

  it("shares the scalar cache between float32 and float64 draws, as torch's double cache is", () => {
    const a = new TorchGenerator(9);
    const b = new TorchGenerator(9);
    const f32 = a.randn(3);
    const f64 = b.randnFloat64(3);
    expect(Array.from(f32)).toEqual(Array.from(f64, Math.fround));
    expect(a.randnFloat64(1)[0]).toBe(b.randnFloat64(1)[0]); // both return the cached sine half
  });

  it('rejects invalid sizes and capabilities', () => {
    expect(() => new TorchGenerator(0).randn(-1)).toThrow(RangeError);
    expect(() => new TorchGenerator(0).randn(2.5)).toThrow(RangeError);
    expect(() => new TorchGenerator(0, { capability: 'avx512' as CpuCapability })).toThrow(RangeError);
  });
});
