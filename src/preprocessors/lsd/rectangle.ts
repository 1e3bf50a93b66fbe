import { angleDiff, angleDiffSigned } from './angles.js';
import type { LevelLines } from './level-lines.js';
import { growRegion, type Region } from './region.js';

/** A segment with a width: LSD's line-support rectangle. */
export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  width: number;
  /** Centre of mass of the region. */
  cx: number;
  cy: number;
  theta: number;
  dx: number;
  dy: number;
  /** Angle tolerance in radians and the matching probability p = prec/π of a random pixel being aligned. */
  prec: number;
  p: number;
}

/**
 * The smallest rectangle holding the region, oriented along the principal axis of the pixel cloud weighted
 * by gradient magnitude (flipped by π when that axis points against the region's level-line angle).
 */
export function regionToRect(region: Region, lines: LevelLines, prec: number, p: number): Rect {
  const { xs, ys, size } = region;
  const w = lines.width;
  const mag = lines.magnitude;
  let sum = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < size; i++) {
    const m = mag[ys[i] * w + xs[i]];
    cx += xs[i] * m;
    cy += ys[i] * m;
    sum += m;
  }
  cx /= sum;
  cy /= sum;

  let ixx = 0;
  let iyy = 0;
  let ixy = 0;
  for (let i = 0; i < size; i++) {
    const m = mag[ys[i] * w + xs[i]];
    const ex = xs[i] - cx;
    const ey = ys[i] - cy;
    ixx += ey * ey * m;
    iyy += ex * ex * m;
    ixy -= ex * ey * m;
  }
  let theta = region.angle;
  if (ixx !== 0 || iyy !== 0 || ixy !== 0) {
    // Eigenvector of the smallest eigenvalue of the inertia matrix: the main axis.
    const lambda = 0.5 * (ixx + iyy - Math.sqrt((ixx - iyy) * (ixx - iyy) + 4 * ixy * ixy));
    theta = Math.abs(ixx) > Math.abs(iyy) ? Math.atan2(lambda - ixx, ixy) : Math.atan2(ixy, lambda - iyy);
    if (angleDiff(theta, region.angle) > prec) theta += Math.PI;
  }

  const dx = Math.cos(theta);
  const dy = Math.sin(theta);
  let lMin = 0;
  let lMax = 0;
  let wMin = 0;
  let wMax = 0;
  for (let i = 0; i < size; i++) {
    const ex = xs[i] - cx;
    const ey = ys[i] - cy;
    const l = ex * dx + ey * dy;
    const across = -ex * dy + ey * dx;
    if (l > lMax) lMax = l;
    if (l < lMin) lMin = l;
    if (across > wMax) wMax = across;
    if (across < wMin) wMin = across;
  }
  return {
    x1: cx + lMin * dx,
    y1: cy + lMin * dy,
    x2: cx + lMax * dx,
    y2: cy + lMax * dy,
    width: Math.max(1, wMax - wMin),
    cx,
    cy,
    theta,
    dx,
    dy,
    prec,
    p,
  };
}

function alignedDensity(region: Region, rect: Rect): number {
  return region.size / (Math.hypot(rect.x1 - rect.x2, rect.y1 - rect.y2) * rect.width);
}

/**
 * LSD's refinement of a region whose rectangle is too sparsely filled (density below `densityThreshold`):
 * regrow from the seed with a tolerance estimated from the angles near the seed; if still too sparse, shrink
 * the region's radius around the seed. Returns the rectangle, or null when the region falls apart.
 */
export function refineRegion(region: Region, rect: Rect, lines: LevelLines, used: Uint8Array, densityThreshold: number): Rect | null {
  if (alignedDensity(region, rect) >= densityThreshold) return rect;
  const { xs, ys } = region;
  const w = lines.width;
  const seedX = xs[0];
  const seedY = ys[0];
  const seedAngle = lines.angles[seedY * w + seedX];

  // Mean and spread of the angles within one rectangle width of the seed.
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let i = 0; i < region.size; i++) {
    used[ys[i] * w + xs[i]] = 0;
    if (Math.hypot(seedX - xs[i], seedY - ys[i]) < rect.width) {
      const d = angleDiffSigned(lines.angles[ys[i] * w + xs[i]], seedAngle);
      sum += d;
      sumSq += d * d;
      n++;
    }
  }
  const mean = sum / n;
  const tolerance = 2 * Math.sqrt((sumSq - 2 * mean * sum) / n + mean * mean);

  growRegion(seedX, seedY, lines, used, tolerance, region);
  if (region.size < 2) return null;
  const regrown = regionToRect(region, lines, rect.prec, rect.p);
  if (alignedDensity(region, regrown) >= densityThreshold) return regrown;
  return reduceRadius(region, regrown, lines, used, densityThreshold);
}

/** Drops the region's pixels farthest from the seed (radius × 0.75 per round) until it is dense enough. */
function reduceRadius(region: Region, rect: Rect, lines: LevelLines, used: Uint8Array, densityThreshold: number): Rect | null {
  const { xs, ys } = region;
  const w = lines.width;
  const seedX = xs[0];
  const seedY = ys[0];
  let radius = Math.max(Math.hypot(seedX - rect.x1, seedY - rect.y1), Math.hypot(seedX - rect.x2, seedY - rect.y2));
  let current = rect;
  while (alignedDensity(region, current) < densityThreshold) {
    radius *= 0.75;
    for (let i = 0; i < region.size; i++) {
      if (Math.hypot(seedX - xs[i], seedY - ys[i]) <= radius) continue;
      used[ys[i] * w + xs[i]] = 0;
      region.size--;
      xs[i] = xs[region.size];
      ys[i] = ys[region.size];
      i--;
    }
    if (region.size < 2) return null;
    current = regionToRect(region, lines, current.prec, current.p);
  }
  return current;
}
