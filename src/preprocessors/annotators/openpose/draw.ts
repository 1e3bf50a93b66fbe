/**
 * The few OpenCV drawing primitives the pose drawing needs, on an interleaved RGB canvas:
 * `ellipse2Poly`, `fillConvexPoly` and a filled `circle` (8-connected, no anti-aliasing).
 */
export interface Canvas {
  data: Uint8Array;
  width: number;
  height: number;
}

type Colour = readonly [number, number, number];

function hline(canvas: Canvas, y: number, x0: number, x1: number, colour: Colour): void {
  if (y < 0 || y >= canvas.height) return;
  const from = Math.max(0, x0);
  const to = Math.min(canvas.width - 1, x1);
  for (let x = from, o = (y * canvas.width + from) * 3; x <= to; x++, o += 3) {
    canvas.data[o] = colour[0];
    canvas.data[o + 1] = colour[1];
    canvas.data[o + 2] = colour[2];
  }
}

/** cvRound: half to even. */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// OpenCV's sine table holds float32 values at whole degrees.
const sinDeg = (d: number) => Math.fround(Math.sin((d * Math.PI) / 180));

/** cv2.ellipse2Poly(center, axes, angle, arcStart, arcEnd, delta) for the full 0..360 arc: integer vertices, repeats dropped. */
export function ellipsePolygon(cx: number, cy: number, ax: number, ay: number, angle: number, delta: number): [number, number][] {
  let a = angle % 360;
  if (a < 0) a += 360;
  const alpha = sinDeg(450 - a);
  const beta = sinDeg(a);
  const points: [number, number][] = [];
  for (let i = 0; i < 360 + delta; i += delta) {
    const t = Math.min(i, 360);
    const x = ax * sinDeg(450 - t);
    const y = ay * sinDeg(t);
    const px = cvRound(cx + x * alpha - y * beta);
    const py = cvRound(cy + x * beta + y * alpha);
    const last = points[points.length - 1];
    if (last === undefined || last[0] !== px || last[1] !== py) points.push([px, py]);
  }
  if (points.length === 1) points.push([cx, cy]);
  return points;
}

/** Fills a convex polygon: on each row, every pixel between the leftmost and rightmost crossing (rounded). */
export function fillConvexPolygon(canvas: Canvas, points: readonly (readonly [number, number])[], colour: Colour): void {
  let top = Infinity;
  let bottom = -Infinity;
  for (const [, y] of points) {
    top = Math.min(top, y);
    bottom = Math.max(bottom, y);
  }
  for (let y = Math.max(0, top); y <= Math.min(canvas.height - 1, bottom); y++) {
    let left = Infinity;
    let right = -Infinity;
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = points[i];
      const [bx, by] = points[(i + 1) % points.length];
      if (y < Math.min(ay, by) || y > Math.max(ay, by)) continue;
      if (ay === by) {
        left = Math.min(left, ax, bx);
        right = Math.max(right, ax, bx);
      } else {
        const x = ax + ((y - ay) * (bx - ax)) / (by - ay);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
    if (left <= right) hline(canvas, y, Math.round(left), Math.round(right), colour);
  }
}

/** cv2.circle(..., thickness=-1): OpenCV's midpoint circle, filled with horizontal spans. */
export function fillCircle(canvas: Canvas, cx: number, cy: number, radius: number, colour: Colour): void {
  let err = 0;
  let dx = radius;
  let dy = 0;
  let plus = 1;
  let minus = (radius << 1) - 1;
  while (dx >= dy) {
    hline(canvas, cy - dy, cx - dx, cx + dx, colour);
    hline(canvas, cy + dy, cx - dx, cx + dx, colour);
    hline(canvas, cy - dx, cx - dy, cx + dy, colour);
    hline(canvas, cy + dx, cx - dy, cx + dy, colour);
    dy++;
    err += plus;
    plus += 2;
    const mask = (err <= 0 ? 1 : 0) - 1;
    err -= minus & mask;
    dx += mask;
    minus -= mask & 2;
  }
}
