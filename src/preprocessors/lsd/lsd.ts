import { gaussianSample, type FloatImage } from './gaussian-sampler.js';
import { levelLines, NOT_DEFINED } from './level-lines.js';
import { improveRect } from './nfa.js';
import { refineRegion, regionToRect } from './rectangle.js';
import { growRegion, Region } from './region.js';

/** LSD's parameters; the defaults are those of the paper and of OpenCV's createLineSegmentDetector. */
export interface LsdParams {
  /** Image scale before detection (0.8 damps staircase aliasing). */
  scale: number;
  /** Gaussian sigma = sigmaScale / scale. */
  sigmaScale: number;
  /** Bound on the gradient quantisation error; pixels with |∇| <= quant / sin(angleTolerance) are skipped. */
  quant: number;
  /** Level-line angle tolerance, degrees. */
  angleTolerance: number;
  /** Detection threshold: -log10(NFA) > logEps. */
  logEps: number;
  /** Minimal fraction of region pixels in its rectangle. */
  densityThreshold: number;
  /** Magnitude buckets of the pseudo-ordering. */
  bins: number;
}

export const LSD_DEFAULTS: Readonly<LsdParams> = {
  scale: 0.8,
  sigmaScale: 0.6,
  quant: 2,
  angleTolerance: 22.5,
  logEps: 0,
  densityThreshold: 0.7,
  bins: 1024,
};

export interface LsdSegment {
  /** Ends in input pixel coordinates (pixel centres at integers). */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  width: number;
  /** -log10 of the number of false alarms: how meaningful the segment is (> logEps). */
  logNfa: number;
  /** Mean gradient magnitude of the segment's pixels over the largest in the (scaled) image, in (0, 1]. */
  strength: number;
}

/**
 * LSD, the line segment detector of von Gioi, Jakubowicz, Morel and Randall (IPOL 2012): Gaussian
 * down-scaling, level-line field, region growing in pseudo-order of gradient magnitude, rectangle
 * approximation and refinement, and a contrario validation by the number of false alarms.
 */
export function detectSegments(gray: FloatImage, params: Partial<LsdParams> = {}): LsdSegment[] {
  const o = { ...LSD_DEFAULTS, ...params };
  const image = o.scale === 1 ? gray : gaussianSample(gray, o.scale, o.sigmaScale);
  const prec = (Math.PI * o.angleTolerance) / 180;
  const p = o.angleTolerance / 180;
  const lines = levelLines(image, o.quant / Math.sin(prec), o.bins);
  const { width: w, height: h } = lines;
  // Number of tests: ~ (w·h)^(5/2) rectangles times 11 precisions.
  const logNT = (5 * (Math.log10(w) + Math.log10(h))) / 2 + Math.log10(11);
  const minRegionSize = Math.trunc(-logNT / Math.log10(p));

  const used = new Uint8Array(w * h);
  const region = new Region(w * h);
  const segments: LsdSegment[] = [];
  for (const seed of lines.order) {
    if (used[seed] !== 0 || lines.angles[seed] === NOT_DEFINED) continue;
    growRegion(seed % w, Math.floor(seed / w), lines, used, prec, region);
    if (region.size < minRegionSize) continue;
    const rect = refineRegion(region, regionToRect(region, lines, prec, p), lines, used, o.densityThreshold);
    if (rect === null) continue;
    const improved = improveRect(rect, lines, logNT, o.logEps);
    if (improved.logNfa <= o.logEps) continue;
    const r = improved.rect;
    // The 2×2 gradient belongs to the window centre: +0.5, then back to input coordinates.
    segments.push({
      x1: (r.x1 + 0.5) / o.scale,
      y1: (r.y1 + 0.5) / o.scale,
      x2: (r.x2 + 0.5) / o.scale,
      y2: (r.y2 + 0.5) / o.scale,
      width: r.width / o.scale,
      logNfa: improved.logNfa,
      strength: meanMagnitude(region, lines.magnitude, w) / lines.maxMagnitude,
    });
  }
  return segments;
}

function meanMagnitude(region: Region, magnitude: Float64Array, w: number): number {
  let sum = 0;
  for (let i = 0; i < region.size; i++) sum += magnitude[region.ys[i] * w + region.xs[i]];
  return sum / region.size;
}
