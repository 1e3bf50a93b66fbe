import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { mlsdGraph } from '../../../scripts/tiny-models/annotators/mlsd.js';
import { encodeModel } from '../../../src/onnx/model-file.js';
import { mlsdNetworkDetector } from '../../../src/preprocessors/annotators/mlsd-network.js';
import { drawLine } from '../../../src/preprocessors/draw-line.js';
import { makeHint } from '../../../src/preprocessors/registry.js';
import { channel0 } from '../helpers.js';
import { graphAnnotators, paintColour } from './helpers.js';

// A 64×64 input gives a 32×32 map; the detect image is 256×256, so map pixels scale by 2 · 4 = 8.
const LINES = [
  { x1: 2, y1: 4, x2: 28, y2: 6, score: 0.9 },
  { x1: 5, y1: 25, x2: 5, y2: 10, score: 0.6 },
  // Faint: dropped by thrV 0.1.
  { x1: 10, y1: 15, x2: 25, y2: 28, score: 0.05 },
  // Short (distance 1 map pixel): dropped by thrD 1.5.
  { x1: 20, y1: 20, x2: 21, y2: 20, score: 0.8 },
  // Next to the first line's centre with a lower score: suppressed by the 3×3 max-pool.
  { x1: 0, y1: 31, x2: 31, y2: 31, score: 0.85, cx: 16, cy: 6 },
];

const image = paintColour(256, 256, (x, y) => [x, y, 128]);

describe('M-LSD network line detector', () => {
  it('decodes centres and displacements as controlnet_aux: NMS, score and length thresholds, ×2 and the size ratio', async () => {
    const session = await ort.InferenceSession.create(encodeModel(mlsdGraph(64, 64, LINES)), { intraOpNumThreads: 1 });
    const lines = await mlsdNetworkDetector(session).detect(image, { thrV: 0.1, thrD: 1.5 });
    expect(lines.map(({ x1, y1, x2, y2 }) => [x1, y1, x2, y2])).toEqual([
      [16, 32, 224, 48],
      [40, 200, 40, 80],
    ]);
    expect(lines[0].score).toBeCloseTo(0.9, 5);
    const loose = await mlsdNetworkDetector(session).detect(image, { thrV: 0, thrD: 0 });
    expect(loose).toHaveLength(4);
  });

  it('is what the mlsd hint uses when models/annotators/mlsd is installed', async () => {
    const annotators = graphAnnotators({ mlsd: mlsdGraph(64, 64, LINES) });
    const hint = channel0((await makeHint('mlsd', image, { width: 256, height: 256, detectResolution: 256, thrD: 1.5, annotators })).image);
    const expected = new Uint8Array(256 * 256);
    drawLine(expected, 256, 256, 16, 32, 224, 48, 255);
    drawLine(expected, 256, 256, 40, 200, 40, 80, 255);
    expect(hint).toEqual(expected);
    expect(annotators.asked).toEqual(['mlsd']);
  });

  it('leaves the classical LSD in place when the network is absent', async () => {
    const annotators = graphAnnotators({});
    const withSessions = await makeHint('mlsd', image, { width: 256, height: 256, detectResolution: 256, annotators });
    const without = await makeHint('mlsd', image, { width: 256, height: 256, detectResolution: 256 });
    expect(withSessions.image.data).toEqual(without.image.data);
    expect(annotators.asked).toEqual(['mlsd']);
  });
});
