import type { InferenceSession } from 'onnxruntime-node';
import { resizeImage } from '../resize.js';
import type { LineDetector, LineSegment } from '../lsd/types.js';
import type { HintOptions } from '../types.js';
import { imageInput, imageTensor, modelSize, runImage, SIGNED_UNIT, toPlanes, type Planes } from './model-io.js';

/** controlnet_aux's decode: the 200 best line centres, after a 3×3 max-pool non-maximum suppression. */
const TOP_K = 200;

/**
 * M-LSD's output map [≥5, h, w] (centre logit, then start dx, dy and end dx, dy) decoded as
 * controlnet_aux's `pred_lines`: sigmoid centres kept where they equal their 3×3 maximum, the 200
 * strongest, those with score > thrV and start-end distance > thrD (both in map pixels), scaled by 2
 * (the map is half the input size) and by `ratioX`, `ratioY` (image size / input size).
 */
export function decodeLines(map: Planes, thrV: number, thrD: number, ratioX: number, ratioY: number): LineSegment[] {
  const { data, width: w, height: h } = map;
  const n = w * h;
  if (map.channels < 5) throw new Error(`mlsd annotator: expected at least 5 output channels, got ${map.channels}`);
  const heat = new Float32Array(n);
  for (let i = 0; i < n; i++) heat[i] = 1 / (1 + Math.exp(-data[i]));
  const peaks: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = heat[y * w + x];
      let isMax = v > 0;
      for (let yy = Math.max(0, y - 1); isMax && yy <= Math.min(h - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
          if (heat[yy * w + xx] > v) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) peaks.push(y * w + x);
    }
  }
  // Strongest first; equal scores in index order.
  peaks.sort((a, b) => heat[b] - heat[a] || a - b);
  const lines: LineSegment[] = [];
  for (const i of peaks.slice(0, TOP_K)) {
    const score = heat[i];
    const x = i % w;
    const y = (i - x) / w;
    const sx = data[n + i];
    const sy = data[2 * n + i];
    const ex = data[3 * n + i];
    const ey = data[4 * n + i];
    if (!(score > thrV) || !(Math.hypot(sx - ex, sy - ey) > thrD)) continue;
    lines.push({
      x1: 2 * (x + sx) * ratioX,
      y1: 2 * (y + sy) * ratioY,
      x2: 2 * (x + ex) * ratioX,
      y2: 2 * (y + ey) * ratioY,
      score,
    });
  }
  return lines;
}

/**
 * The M-LSD network as a LineDetector: RGB plus a plane of ones, as x / 127.5 - 1, at the graph's fixed
 * size or the detect size; thrD is compared in the half-size map's pixels, as controlnet_aux does.
 */
export function mlsdNetworkDetector(session: InferenceSession): LineDetector {
  return {
    name: 'mlsd',
    async detect(image, { thrV, thrD }) {
      const input = imageInput(session, 'mlsd', 4);
      const size = modelSize(input, image.width, image.height, 2);
      const fed = await resizeImage(image, size.width, size.height, 'lanczos3');
      const [output] = await runImage(session, input, imageTensor(fed, input, SIGNED_UNIT, 1));
      return decodeLines(toPlanes(output, 'mlsd'), thrV, thrD, image.width / size.width, image.height / size.height);
    },
  };
}

/** The M-LSD detector when `models/annotators/mlsd/model.onnx` is installed, else null. */
export async function installedMlsdDetector(options: HintOptions): Promise<LineDetector | null> {
  const session = (await options.annotators?.session('mlsd')) ?? null;
  return session === null ? null : mlsdNetworkDetector(session);
}
