import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../../src/image/types.js';
import { drawLine } from '../../../src/preprocessors/draw-line.js';
import { detectSegments, type LsdSegment } from '../../../src/preprocessors/lsd/lsd.js';
import { rgbToGray } from '../../../src/preprocessors/rgb.js';
import { coveredFraction, fixturePath, paintPolygon, paintRgb, readRgb, squareCorners } from '../helpers.js';

function lsdOf(image: RawImage, params = {}): LsdSegment[] {
  const gray = rgbToGray(image);
  return detectSegments({ data: Float64Array.from(gray), width: image.width, height: image.height }, params);
}

type Point = readonly [number, number];

/** Largest distance between the segment's ends and (a, b), whichever way round it runs. */
function endError(s: LsdSegment, a: Point, b: Point): number {
  const forward = Math.max(Math.hypot(s.x1 - a[0], s.y1 - a[1]), Math.hypot(s.x2 - b[0], s.y2 - b[1]));
  const backward = Math.max(Math.hypot(s.x1 - b[0], s.y1 - b[1]), Math.hypot(s.x2 - a[0], s.y2 - a[1]));
  return Math.min(forward, backward);
}

/** Difference of undirected line angles, degrees in [0, 90]. */
function angleError(s: LsdSegment, a: Point, b: Point): number {
  const d = Math.abs(Math.atan2(s.y2 - s.y1, s.x2 - s.x1) - Math.atan2(b[1] - a[1], b[0] - a[0])) % Math.PI;
  return (Math.min(d, Math.PI - d) * 180) / Math.PI;
}

/** Each polygon side is matched by exactly one segment, with ends within `tol` px (LSD stops a little short
 * of corners, where the gradient turns) and angle within 0.5°. */
function expectSides(segments: LsdSegment[], corners: Point[], tol: number): void {
  expect(segments).toHaveLength(corners.length);
  for (let i = 0; i < corners.length; i++) {
    const a = corners[i];
    const b = corners[(i + 1) % corners.length];
    const matches = segments.filter((s) => endError(s, a, b) < tol);
    expect(matches, `side ${a} → ${b}`).toHaveLength(1);
    expect(angleError(matches[0], a, b)).toBeLessThan(0.5);
  }
}

function raster(segments: readonly (readonly number[])[], w: number, h: number): Uint8Array {
  const canvas = new Uint8Array(w * h);
  for (const [x1, y1, x2, y2] of segments) drawLine(canvas, w, h, Math.trunc(x1!), Math.trunc(y1!), Math.trunc(x2!), Math.trunc(y2!), 1);
  return canvas;
}

describe('detectSegments (LSD)', () => {
  it('finds the four sides of a square', () => {
    const corners = squareCorners(64, 64, 64, 0);
    expectSides(lsdOf(paintPolygon(128, 128, corners, 200, 30)), corners, 2);
  });

  it('finds the four sides of a square turned by 30°', () => {
    const corners = squareCorners(64, 64, 64, 30);
    expectSides(lsdOf(paintPolygon(128, 128, corners, 200, 30)), corners, 2);
  });

  it('finds both edges of a rotated bar, parallel to it', () => {
    // A bar 6 px wide from (20, 30) to (100, 90): edges offset by ±3 px across its direction (0.6, 0.8)·(-1).
    const [nx, ny] = [-0.6 * 3, 0.8 * 3];
    const edgeA: [Point, Point] = [
      [20 + nx, 30 + ny],
      [100 + nx, 90 + ny],
    ];
    const edgeB: [Point, Point] = [
      [20 - nx, 30 - ny],
      [100 - nx, 90 - ny],
    ];
    const segments = lsdOf(paintPolygon(128, 128, [edgeA[0], edgeA[1], edgeB[1], edgeB[0]], 220, 40));
    expect(segments).toHaveLength(2);
    for (const [a, b] of [edgeA, edgeB]) {
      const s = segments.find((t) => endError(t, a, b) < 2.5);
      expect(s, `edge ${a} → ${b}`).toBeDefined();
      expect(angleError(s!, a, b)).toBeLessThan(0.5);
    }
  });

  it('mirrors its segments with the image', () => {
    const w = 128;
    const corners = squareCorners(60, 66, 56, 20);
    const found = lsdOf(paintPolygon(w, 128, corners, 210, 20));
    const mirrored = lsdOf(
      paintPolygon(
        w,
        128,
        corners.map(([x, y]) => [w - 1 - x, y] as [number, number]),
        210,
        20,
      ),
    );
    expect(found).toHaveLength(4);
    expect(mirrored).toHaveLength(4);
    for (const s of found) {
      const a: Point = [w - 1 - s.x1, s.y1];
      const b: Point = [w - 1 - s.x2, s.y2];
      expect(Math.min(...mirrored.map((m) => endError(m, a, b)))).toBeLessThan(1);
    }
  });

  it('finds nothing in a flat image or in noise (the a contrario threshold)', () => {
    expect(lsdOf(paintRgb(96, 96, () => 128))).toHaveLength(0);
    let state = 12345;
    const noise = paintRgb(160, 160, () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 24;
    });
    expect(lsdOf(noise).length).toBeLessThanOrEqual(1);
  });

  it('reports segments in input coordinates whatever the scale', () => {
    const corners = squareCorners(64, 64, 64, 30);
    const image = paintPolygon(128, 128, corners, 200, 30);
    expectSides(lsdOf(image, { scale: 1 }), corners, 2);
    expectSides(lsdOf(image, { scale: 0.5 }), corners, 2.5);
  });

  // OpenCV's createLineSegmentDetector() (refine STD: no NFA validation) on the same luma, made once.
  const reference = JSON.parse(readFileSync(fixturePath('lsd-opencv.json'), 'utf8')) as { segments: Record<string, number[][]> };
  for (const name of ['astronaut', 'coffee', 'rocket']) {
    it(`draws the lines OpenCV's LSD draws on ${name}`, async () => {
      const image = await readRgb(`${name}.png`);
      const { width: w, height: h } = image;
      const theirs = raster(reference.segments[name], w, h);
      const unvalidated = lsdOf(image, { logEps: -Infinity }).map((s) => [s.x1, s.y1, s.x2, s.y2]);
      const validated = lsdOf(image).map((s) => [s.x1, s.y1, s.x2, s.y2]);
      const ours = raster(unvalidated, w, h);
      // Same stages, float scaling here where OpenCV rounds the scaled image to 8 bits: lines within 2 px.
      expect(coveredFraction(ours, theirs, w, h, 2)).toBeGreaterThan(0.94);
      expect(coveredFraction(theirs, ours, w, h, 2)).toBeGreaterThan(0.89);
      // Validation only removes segments.
      expect(validated.length).toBeLessThan(unvalidated.length);
      expect(coveredFraction(raster(validated, w, h), theirs, w, h, 2)).toBeGreaterThan(0.97);
    });
  }
});
