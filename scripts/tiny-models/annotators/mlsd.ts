/**
 * A tiny stand-in for M-LSD (input [1,4,H,W]: RGB and a plane of ones → output [1,9,H/2,W/2]) whose
 * output map is fixed: a centre at each given line's midpoint with the line's end displacements, and
 * nothing elsewhere.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { constantFrom, fixedGraph } from './common.js';

export interface MapLine {
  /** Ends in output-map pixels. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** The centre's sigmoid score in (0, 1). */
  score: number;
  /** Where the centre sits; default the midpoint rounded down. */
  cx?: number;
  cy?: number;
}

const CHANNELS = 9;
/** The centre logit off the lines: sigmoid ≈ 4.5e-5. */
const BACKGROUND_LOGIT = -10;

/** M-LSD with a fixed input size (height × width, both even) whose output map encodes `lines`. */
export function mlsdGraph(height: number, width: number, lines: readonly MapLine[]): GraphBuilder {
  const g = fixedGraph('tiny-mlsd');
  const x = g.input('input', 'float32', [1, 4, height, width]);
  const h = height / 2;
  const w = width / 2;
  const n = h * w;
  const map = new Float32Array(CHANNELS * n);
  map.fill(BACKGROUND_LOGIT, 0, n);
  for (const line of lines) {
    const cx = line.cx ?? Math.floor((line.x1 + line.x2) / 2);
    const cy = line.cy ?? Math.floor((line.y1 + line.y2) / 2);
    const i = cy * w + cx;
    map[i] = Math.log(line.score / (1 - line.score));
    map[n + i] = line.x1 - cx;
    map[2 * n + i] = line.y1 - cy;
    map[3 * n + i] = line.x2 - cx;
    map[4 * n + i] = line.y2 - cy;
  }
  g.output(constantFrom(g, x, map, [1, CHANNELS, h, w]), 'output', 'float32', [1, CHANNELS, h, w]);
  return g;
}
