/**
 * A tiny stand-in for a MediaPipe face-mesh ONNX port (NHWC input [1,192,192,3] in [0,1] → landmarks
 * [1,1,1,478·3] in input pixels and a face-presence logit [1,1,1,1]) with fixed outputs.
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { constantFrom, fixedGraph } from './common.js';

export function faceMeshGraph(landmarks: Float32Array, faceLogit: number, size = 192): GraphBuilder {
  if (landmarks.length % 3 !== 0) throw new Error('landmarks must be (x, y, z) triples');
  const g = fixedGraph('tiny-face-mesh');
  const x = g.input('input_1', 'float32', [1, size, size, 3]);
  g.output(constantFrom(g, x, landmarks, [1, 1, 1, landmarks.length]), 'landmarks', 'float32', [1, 1, 1, landmarks.length]);
  g.output(constantFrom(g, x, Float32Array.of(faceLogit), [1, 1, 1, 1]), 'face_flag', 'float32', [1, 1, 1, 1]);
  return g;
}
