import { isAligned } from './angles.js';
import { NOT_DEFINED, type LevelLines } from './level-lines.js';
import type { Rect } from './rectangle.js';

// Lanczos approximation of ln Γ (g = 7, nine terms): ~15 significant digits for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_TWO_PI = 0.5 * Math.log(2 * Math.PI);

export function logGamma(x: number): number {
  const z = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LN_TWO_PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * -log10 of the number of false alarms of a rectangle with n pixels of which k are aligned, each aligned
 * by chance with probability p, among 10^logNT tests: -log10(NT · P[Binomial(n, p) >= k]). The tail is
 * summed until the remaining terms, bounded by a geometric series, change it by less than 10%.
 */
export function logNfa(n: number, k: number, p: number, logNT: number): number {
  if (n === 0 || k === 0) return -logNT;
  if (n === k) return -logNT - n * Math.log10(p);
  const pOdds = p / (1 - p);
  const logFirst = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p);
  let term = Math.exp(logFirst);
  if (term < 1e-300) {
    // The first term underflows: it alone is the tail's order of magnitude (when k is above the mean).
    return k > n * p ? -logFirst / Math.LN10 - logNT : -logNT;
  }
  let tail = term;
  for (let i = k + 1; i <= n; i++) {
    const ratio = (n - i + 1) / i;
    const factor = ratio * pOdds;
    term *= factor;
    tail += term;
    if (ratio < 1) {
      const rest = term * ((1 - factor ** (n - i + 1)) / (1 - factor) - 1);
      if (rest < 0.1 * Math.abs(-Math.log10(tail) - logNT) * tail) break;
    }
  }
  return -Math.log10(tail) - logNT;
}

/** -log10 NFA of a rectangle: counts its pixels inside the image and those aligned with its angle. */
export function rectLogNfa(rect: Rect, lines: LevelLines, logNT: number): number {
  const { width: w, height: h, angles } = lines;
  const half = rect.width / 2;
  // Corners: the segment's ends moved ±half across it.
  const ox = -rect.dy * half;
  const oy = rect.dx * half;
  const cornersX = [rect.x1 + ox, rect.x2 + ox, rect.x2 - ox, rect.x1 - ox];
  const cornersY = [rect.y1 + oy, rect.y2 + oy, rect.y2 - oy, rect.y1 - oy];
  const xStart = Math.max(0, Math.ceil(Math.min(...cornersX)));
  const xEnd = Math.min(w - 1, Math.floor(Math.max(...cornersX)));
  let points = 0;
  let aligned = 0;
  for (let x = xStart; x <= xEnd; x++) {
    // The column's span inside the convex quadrilateral: where it crosses the edges.
    let yLow = Infinity;
    let yHigh = -Infinity;
    for (let e = 0; e < 4; e++) {
      const ax = cornersX[e];
      const ay = cornersY[e];
      const bx = cornersX[(e + 1) & 3];
      const by = cornersY[(e + 1) & 3];
      if (x < Math.min(ax, bx) || x > Math.max(ax, bx)) continue;
      if (ax === bx) {
        // A vertical edge on this very column: both its ends bound the span.
        yLow = Math.min(yLow, ay, by);
        yHigh = Math.max(yHigh, ay, by);
      } else {
        const y = ay + ((x - ax) * (by - ay)) / (bx - ax);
        if (y < yLow) yLow = y;
        if (y > yHigh) yHigh = y;
      }
    }
    const yFrom = Math.max(0, Math.ceil(yLow));
    const yTo = Math.min(h - 1, Math.floor(yHigh));
    for (let y = yFrom; y <= yTo; y++) {
      points++;
      if (isAligned(angles[y * w + x], rect.theta, rect.prec, NOT_DEFINED)) aligned++;
    }
  }
  return logNfa(points, aligned, rect.p, logNT);
}

function withPrecision(rect: Rect, p: number): Rect {
  return { ...rect, p, prec: p * Math.PI };
}

/**
 * LSD's rectangle improvement for rectangles not yet meaningful (-log10 NFA <= logEps): try finer angle
 * precisions, a narrower width, and trimming either long side, keeping each change that lowers the NFA.
 * Returns the best rectangle and its -log10 NFA.
 */
export function improveRect(rect: Rect, lines: LevelLines, logNT: number, logEps: number): { rect: Rect; logNfa: number } {
  let best = rect;
  let bestNfa = rectLogNfa(rect, lines, logNT);
  if (bestNfa > logEps) return { rect: best, logNfa: bestNfa };
  const delta = 0.5;

  const tryFinerPrecision = () => {
    let r = best;
    for (let k = 0; k < 5; k++) {
      r = withPrecision(r, r.p / 2);
      const v = rectLogNfa(r, lines, logNT);
      if (v > bestNfa) {
        best = r;
        bestNfa = v;
      }
    }
  };
  // shift = 0: narrow symmetrically; ±1: move one long side inwards by delta.
  const tryNarrower = (shift: number) => {
    let r = best;
    for (let k = 0; k < 5; k++) {
      if (r.width - delta < 0.5) continue;
      const mx = -r.dy * (delta / 2) * shift;
      const my = r.dx * (delta / 2) * shift;
      r = { ...r, x1: r.x1 + mx, y1: r.y1 + my, x2: r.x2 + mx, y2: r.y2 + my, width: r.width - delta };
      const v = rectLogNfa(r, lines, logNT);
      if (v > bestNfa) {
        best = r;
        bestNfa = v;
      }
    }
  };

  tryFinerPrecision();
  if (bestNfa > logEps) return { rect: best, logNfa: bestNfa };
  tryNarrower(0);
  if (bestNfa > logEps) return { rect: best, logNfa: bestNfa };
  tryNarrower(1);
  if (bestNfa > logEps) return { rect: best, logNfa: bestNfa };
  tryNarrower(-1);
  if (bestNfa > logEps) return { rect: best, logNfa: bestNfa };
  tryFinerPrecision();
  return { rect: best, logNfa: bestNfa };
}
