import type { FloatImage } from './gaussian-sampler.js';

/** Angle value of pixels whose gradient is too weak to have a level-line direction. */
export const NOT_DEFINED = -1024;

export interface LevelLines {
  width: number;
  height: number;
  /** Level-line angle (gradient direction turned by -90°) in radians, or NOT_DEFINED. */
  angles: Float64Array;
  /** Gradient magnitude. */
  magnitude: Float64Array;
  /** Indices of the pixels with a defined angle, strongest gradient first (bucketed, as LSD does). */
  order: Int32Array;
  maxMagnitude: number;
}

/**
 * Gradient from the 2×2 window right/below each pixel (its value belongs to the window centre, +0.5 px),
 * the level-line angle where the magnitude exceeds `threshold`, and LSD's pseudo-ordering: pixels sorted
 * into `bins` magnitude buckets, visited from the strongest bucket down. The last row and column have no
 * window and stay undefined.
 */
export function levelLines(image: FloatImage, threshold: number, bins: number): LevelLines {
  const { data, width: w, height: h } = image;
  const n = w * h;
  const angles = new Float64Array(n).fill(NOT_DEFINED);
  const magnitude = new Float64Array(n);
  let maxMagnitude = 0;
  let defined = 0;
  for (let y = 0; y < h - 1; y++) {
    for (let x = 0; x < w - 1; x++) {
      const i = y * w + x;
      const diag = data[i + w + 1] - data[i]; // D - A
      const anti = data[i + 1] - data[i + w]; // B - C
      const gx = diag + anti;
      const gy = diag - anti;
      const m = Math.sqrt((gx * gx + gy * gy) / 4);
      magnitude[i] = m;
      if (m > maxMagnitude) maxMagnitude = m;
      if (m > threshold) {
        angles[i] = Math.atan2(gx, -gy);
        defined++;
      }
    }
  }

  // Counting sort into buckets, strongest bucket first, scan order inside a bucket.
  const bucketOf = new Int32Array(n);
  const starts = new Int32Array(bins + 1);
  for (let i = 0; i < n; i++) {
    if (angles[i] === NOT_DEFINED) continue;
    const b = Math.min(bins - 1, Math.floor((magnitude[i] * bins) / maxMagnitude));
    const rank = bins - 1 - b;
    bucketOf[i] = rank;
    starts[rank + 1]++;
  }
  for (let b = 0; b < bins; b++) starts[b + 1] += starts[b];
  const order = new Int32Array(defined);
  for (let i = 0; i < n; i++) {
    if (angles[i] === NOT_DEFINED) continue;
    order[starts[bucketOf[i]]++] = i;
  }
  return { width: w, height: h, angles, magnitude, order, maxMagnitude };
}
