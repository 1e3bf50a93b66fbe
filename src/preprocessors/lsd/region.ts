import { isAligned } from './angles.js';
import { NOT_DEFINED, type LevelLines } from './level-lines.js';

/** A set of pixels grown from a seed (always at index 0), in reusable buffers. */
export class Region {
  readonly xs: Int32Array;
  readonly ys: Int32Array;
  size = 0;
  /** Mean level-line angle of the region (direction of the summed unit vectors). */
  angle = 0;

  constructor(capacity: number) {
    this.xs = new Int32Array(capacity);
    this.ys = new Int32Array(capacity);
  }
}

/**
 * Grows `region` from (x, y): 8-neighbours not yet used whose level-line angle is within `tolerance` of
 * the region's running mean angle join it and are marked in `used`.
 */
export function growRegion(x: number, y: number, lines: LevelLines, used: Uint8Array, tolerance: number, region: Region): void {
  const { width: w, height: h, angles } = lines;
  const { xs, ys } = region;
  const seed = y * w + x;
  region.size = 1;
  xs[0] = x;
  ys[0] = y;
  used[seed] = 1;
  let angle = angles[seed];
  let sumDx = Math.cos(angle);
  let sumDy = Math.sin(angle);
  for (let i = 0; i < region.size; i++) {
    const px = xs[i];
    const py = ys[i];
    for (let xx = px - 1; xx <= px + 1; xx++) {
      if (xx < 0 || xx >= w) continue;
      for (let yy = py - 1; yy <= py + 1; yy++) {
        if (yy < 0 || yy >= h) continue;
        const j = yy * w + xx;
        if (used[j] !== 0) continue;
        const a = angles[j];
        if (!isAligned(a, angle, tolerance, NOT_DEFINED)) continue;
        used[j] = 1;
        xs[region.size] = xx;
        ys[region.size] = yy;
        region.size++;
        sumDx += Math.cos(a);
        sumDy += Math.sin(a);
        angle = Math.atan2(sumDy, sumDx);
      }
    }
  }
  region.angle = angle;
}
