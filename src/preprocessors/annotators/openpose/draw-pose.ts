import type { Canvas } from './draw.js';
import { ellipsePolygon, fillCircle, fillConvexPolygon } from './draw.js';
import { DRAWN_LIMBS, LIMBS, POSE_COLOURS } from './skeleton.js';

/** A keypoint in [0, 1] image coordinates (controlnet_aux normalises by the detect size). */
export interface PoseKeypoint {
  x: number;
  y: number;
}

const STICK_WIDTH = 4;
const KEYPOINT_RADIUS = 4;

/**
 * controlnet_aux's `draw_bodypose`: each limb as a filled ellipse 2·4 px thick in its colour at 60 %,
 * then each keypoint as a filled circle of radius 4 in its colour.
 */
export function drawBodyPose(canvas: Canvas, keypoints: readonly (PoseKeypoint | null)[]): void {
  const { width: W, height: H } = canvas;
  for (let k = 0; k < DRAWN_LIMBS; k++) {
    const a = keypoints[LIMBS[k][0] - 1];
    const b = keypoints[LIMBS[k][1] - 1];
    if (!a || !b) continue;
    // controlnet_aux names the x coordinates Y and the y coordinates X; the arithmetic is kept as is.
    const y0 = a.x * W;
    const y1 = b.x * W;
    const x0 = a.y * H;
    const x1 = b.y * H;
    const mX = (x0 + x1) / 2;
    const mY = (y0 + y1) / 2;
    const length = Math.sqrt((x0 - x1) ** 2 + (y0 - y1) ** 2);
    const angle = Math.atan2(x0 - x1, y0 - y1) * (180 / Math.PI);
    const polygon = ellipsePolygon(Math.trunc(mY), Math.trunc(mX), Math.trunc(length / 2), STICK_WIDTH, Math.trunc(angle), 1);
    const [r, g, bl] = POSE_COLOURS[k];
    fillConvexPolygon(canvas, polygon, [Math.trunc(r * 0.6), Math.trunc(g * 0.6), Math.trunc(bl * 0.6)]);
  }
  keypoints.forEach((p, i) => {
    if (!p || i >= POSE_COLOURS.length) return;
    fillCircle(canvas, Math.trunc(p.x * W), Math.trunc(p.y * H), KEYPOINT_RADIUS, POSE_COLOURS[i]);
  });
}
