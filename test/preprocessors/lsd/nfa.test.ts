import { describe, expect, it } from 'vitest';
import { logGamma, logNfa } from '../../../src/preprocessors/lsd/nfa.js';

/** -log10(NT · P[Binomial(n, p) >= k]) summed exactly term by term. */
function exactLogNfa(n: number, k: number, p: number, logNT: number): number {
  let tail = 0;
  for (let i = k; i <= n; i++) {
    let c = 1;
    for (let j = 1; j <= i; j++) c = (c * (n - i + j)) / j;
    tail += c * p ** i * (1 - p) ** (n - i);
  }
  return -Math.log10(tail) - logNT;
}

describe('logGamma', () => {
  it('is ln((x-1)!) at integers', () => {
    let factorial = 1;
    for (let x = 1; x <= 30; x++) {
      expect(logGamma(x)).toBeCloseTo(Math.log(factorial), 9);
      factorial *= x;
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
});

describe('logNfa', () => {
  it('matches the exact binomial tail within the 10% the summation allows', () => {
    for (const [n, k] of [
      [20, 10],
      [50, 12],
      [100, 40],
      [300, 290],
      [60, 8],
    ] as const) {
      const exact = exactLogNfa(n, k, 0.125, 5);
      // 10% relative error on the tail is 0.046 in log10.
      expect(Math.abs(logNfa(n, k, 0.125, 5) - exact), `n=${n} k=${k}`).toBeLessThan(0.05);
    }
  });

  it('handles the trivial cases and grows with the number of aligned points', () => {
    expect(logNfa(0, 0, 0.125, 7)).toBe(-7);
    expect(logNfa(40, 0, 0.125, 7)).toBe(-7);
    expect(logNfa(10, 10, 0.125, 7)).toBeCloseTo(-7 + 10 * Math.log10(8), 12);
    let previous = -Infinity;
    for (let k = 1; k <= 100; k++) {
      const v = logNfa(100, k, 0.125, 7);
      expect(v).toBeGreaterThanOrEqual(previous);
      previous = v;
    }
    // Far in the tail the first term underflows: the result stays finite and large.
    expect(logNfa(5000, 4900, 0.125, 7)).toBeGreaterThan(4000);
  });
});
