/**
 * A tiny stand-in for the OpenPose body network (input [1,3,H,W] → Mconv7_stage6_L1 PAFs [1,38,H/8,W/8]
 * and Mconv7_stage6_L2 heatmaps [1,19,H/8,W/8], the names of controlnet_aux's bodypose_model) whose maps
 * encode a given skeleton: a Gaussian per keypoint, each limb's unit direction along it.
 */
import { LIMB_PAF, LIMBS } from '../../../src/preprocessors/annotators/openpose/skeleton.js';
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { constantFrom, fixedGraph } from './common.js';

export interface PoseGraphOptions {
  /** Input size the maps are made for (multiples of 8). */
  height: number;
  width: number;
  /** People: 18 keypoints each, in output-map cells (x, y), or null where a part is missing. */
  people: readonly (readonly (readonly [number, number] | null)[])[];
  /** Gaussian radius of a keypoint, in cells. */
  sigma?: number;
  /** Half-width of a limb's PAF band, in cells. */
  band?: number;
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy || 1)));
  return Math.hypot(px - ax - t * vx, py - ay - t * vy);
}

export function openposeGraph(options: PoseGraphOptions): GraphBuilder {
  const { height, width, people } = options;
  const sigma = options.sigma ?? 1;
  const band = options.band ?? 1;
  const h = height / 8;
  const w = width / 8;
  const n = w * h;
  const heat = new Float32Array(19 * n);
  const paf = new Float32Array(38 * n);
  for (const keypoints of people) {
    keypoints.forEach((p, part) => {
      if (p === null) return;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = Math.exp(-((x - p[0]) ** 2 + (y - p[1]) ** 2) / (2 * sigma * sigma));
          heat[part * n + y * w + x] = Math.max(heat[part * n + y * w + x], v);
        }
      }
    });
    LIMBS.forEach(([a, b], k) => {
      const pa = keypoints[a - 1];
      const pb = keypoints[b - 1];
      if (!pa || !pb) return;
      const length = Math.hypot(pb[0] - pa[0], pb[1] - pa[1]);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (distanceToSegment(x, y, pa[0], pa[1], pb[0], pb[1]) > band) continue;
          paf[LIMB_PAF[k][0] * n + y * w + x] = (pb[0] - pa[0]) / length;
          paf[LIMB_PAF[k][1] * n + y * w + x] = (pb[1] - pa[1]) / length;
        }
      }
    });
  }
  // The background channel: 1 − the strongest part.
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let part = 0; part < 18; part++) max = Math.max(max, heat[part * n + i]);
    heat[18 * n + i] = 1 - max;
  }
  const g = fixedGraph('tiny-openpose');
  const x = g.input('input', 'float32', [1, 3, 'height', 'width']);
  g.output(constantFrom(g, x, paf, [1, 38, h, w]), 'Mconv7_stage6_L1', 'float32', [1, 38, 'map_height', 'map_width']);
  g.output(constantFrom(g, x, heat, [1, 19, h, w]), 'Mconv7_stage6_L2', 'float32', [1, 19, 'map_height', 'map_width']);
  return g;
}
