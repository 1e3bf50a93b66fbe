import { describe, expect, it } from 'vitest';
import { faceMeshGraph } from '../../../scripts/tiny-models/annotators/face-mesh.js';
import { FACE_CONTOURS } from '../../../src/preprocessors/annotators/face/face-mesh.js';
import { AnnotatorMissingError, makeHint } from '../../../src/preprocessors/registry.js';
import { graphAnnotators, paintColour, pixel } from './helpers.js';

// Landmarks in the 192-px mesh input; the 256-px detect image maps 192 → 256.
const K = 256 / 192;
const OVAL = FACE_CONTOURS[0].chains[0];
const LIPS = FACE_CONTOURS[5].chains[0];

function mesh(): Float32Array {
  const points = new Float32Array(478 * 3).fill(96);
  OVAL.forEach((index, j) => {
    const a = (2 * Math.PI * j) / (OVAL.length - 1);
    points[index * 3] = 96 + 60 * Math.cos(a);
    points[index * 3 + 1] = 96 + 60 * Math.sin(a);
  });
  // The outer lower lip as a horizontal line from x = 66 to 126 at y = 130.
  LIPS.forEach((index, j) => {
    points[index * 3] = 66 + (60 * j) / (LIPS.length - 1);
    points[index * 3 + 1] = 130;
  });
  points.set([60, 70, 0], 468 * 3);
  return points;
}

const image = paintColour(256, 256, (x, y) => [x, y, 100]);
const options = { width: 256, height: 256, detectResolution: 256 };

describe('face_detector hint', () => {
  it('draws the face-mesh contours 2 px wide in their colours and the pupils as 4×4 squares', async () => {
    const annotators = graphAnnotators({ mediapipe_face: faceMeshGraph(mesh(), 5) });
    const hint = (await makeHint('face_detector', image, { ...options, annotators })).image;
    const oval = [10, 200, 10];
    for (const j of [0, 9, 18, 27]) {
      const a = (2 * Math.PI * (j + 0.5)) / (OVAL.length - 1);
      const x = Math.round((96 + 60 * Math.cos(a) * Math.cos(Math.PI / 36)) * K);
      const y = Math.round((96 + 60 * Math.sin(a) * Math.cos(Math.PI / 36)) * K);
      expect(pixel(hint, x, y), `oval edge ${j}`).toEqual(oval);
    }
    expect(pixel(hint, Math.floor(96 * K), Math.floor(130 * K))).toEqual([10, 180, 10]);
    // Right pupil (landmark 468) at (60, 70) → (80, 93.3): rows 91..94, columns 78..81.
    for (const [x, y] of [
      [78, 91],
      [81, 94],
    ])
      expect(pixel(hint, x, y)).toEqual([250, 200, 10]);
    expect(pixel(hint, 82, 93)).toEqual([0, 0, 0]);
    expect(pixel(hint, 10, 10)).toEqual([0, 0, 0]);
    expect(pixel(hint, 128, 60)).toEqual([0, 0, 0]);
  });

  it('is black when the face score is below 0.5', async () => {
    const annotators = graphAnnotators({ mediapipe_face: faceMeshGraph(mesh(), -2) });
    const hint = (await makeHint('face_detector', image, { ...options, annotators })).image;
    expect(hint.data.every((v) => v === 0)).toBe(true);
  });

  it('is missing without models/annotators/mediapipe_face', async () => {
    const error = await makeHint('face_detector', image, { ...options, annotators: graphAnnotators({}) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnnotatorMissingError);
    expect((error as AnnotatorMissingError).folder).toBe('models/annotators/mediapipe_face/');
  });
});
