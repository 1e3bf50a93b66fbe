import { describe, expect, it } from 'vitest';
import { openposeGraph } from '../../../scripts/tiny-models/annotators/openpose.js';
import { ellipsePolygon, fillCircle } from '../../../src/preprocessors/annotators/openpose/draw.js';
import { DRAWN_LIMBS, LIMBS, POSE_COLOURS } from '../../../src/preprocessors/annotators/openpose/skeleton.js';
import { AnnotatorMissingError, makeHint } from '../../../src/preprocessors/registry.js';
import { graphAnnotators, paintColour, pixel } from './helpers.js';

// A standing person in a 256×256 image (detect size 256): nose, neck, right arm, left arm, right leg,
// left leg, eyes, ears.
const PERSON: [number, number][] = [
  [128, 50],
  [128, 82],
  [100, 82],
  [88, 118],
  [80, 152],
  [156, 82],
  [168, 118],
  [176, 152],
  [110, 150],
  [106, 196],
  [104, 236],
  [146, 150],
  [150, 196],
  [152, 236],
  [120, 42],
  [136, 42],
  [110, 50],
  [146, 50],
];
const SIZE = 256;
// Detect 256 → network input 184×184 (0.5 · 368 px high) → maps of 23×23 cells.
const SCALE = 184 / SIZE;
const toCells = ([x, y]: [number, number]) => [((x + 0.5) * SCALE) / 8 - 0.5, ((y + 0.5) * SCALE) / 8 - 0.5] as const;

const image = paintColour(SIZE, SIZE, (x, y) => [(x * 7) & 255, (y * 3) & 255, 90]);
const options = { width: SIZE, height: SIZE, detectResolution: SIZE };

describe('openpose hint', () => {
  it('draws the encoded skeleton: keypoints and limbs in the standard colours at the right places', async () => {
    const annotators = graphAnnotators({ openpose: openposeGraph({ height: 184, width: 184, people: [PERSON.map(toCells)] }) });
    const hint = (await makeHint('openpose', image, { ...options, annotators })).image;
    // Each keypoint's circle (radius 4) is in its colour, within a pixel of where it was put.
    PERSON.forEach(([x, y], i) => {
      const near = [
        [0, 0],
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ].some(([dx, dy]) => pixel(hint, x + dx, y + dy).join() === POSE_COLOURS[i].join());
      expect(near, `keypoint ${i} at ${x},${y}: ${pixel(hint, x, y)}`).toBe(true);
    });
    // Each limb's stick, away from the circles, is its colour at 60 %.
    for (let k = 0; k < DRAWN_LIMBS; k++) {
      const [a, b] = LIMBS[k].map((p) => PERSON[p - 1]);
      const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
      if (length < 14) continue;
      const mx = Math.round((a[0] + b[0]) / 2);
      const my = Math.round((a[1] + b[1]) / 2);
      expect(pixel(hint, mx, my), `limb ${k}`).toEqual(POSE_COLOURS[k].map((c) => Math.trunc(c * 0.6)));
    }
    // Nothing far from the skeleton.
    for (const [x, y] of [
      [10, 10],
      [240, 128],
      [30, 200],
      [200, 20],
    ])
      expect(pixel(hint, x, y)).toEqual([0, 0, 0]);
  });

  it('draws nothing when no person has 4 parts', async () => {
    const parts: ([number, number] | null)[] = PERSON.map((p, i) => (i < 3 ? p : null));
    const annotators = graphAnnotators({ openpose: openposeGraph({ height: 184, width: 184, people: [parts.map((p) => (p ? toCells(p) : null))] }) });
    const hint = (await makeHint('openpose', image, { ...options, annotators })).image;
    expect(hint.data.every((v) => v === 0)).toBe(true);
  });

  it('assembles two people separately', async () => {
    const left = PERSON.map(([x, y]) => [x * 0.45 + 5, y] as [number, number]);
    const right = PERSON.map(([x, y]) => [x * 0.45 + 130, y] as [number, number]);
    const annotators = graphAnnotators({
      openpose: openposeGraph({ height: 184, width: 184, people: [left.map(toCells), right.map(toCells)], sigma: 0.7, band: 0.6 }),
    });
    const hint = (await makeHint('openpose', image, { ...options, annotators })).image;
    // Both necks and both left wrists are drawn; no limb crosses the gap between the two people.
    for (const person of [left, right]) {
      for (const part of [1, 7]) {
        const [x, y] = person[part].map(Math.round);
        const near = [
          [0, 0],
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ].some(([dx, dy]) => pixel(hint, x + dx, y + dy).join() === POSE_COLOURS[part].join());
        expect(near, `part ${part} at ${x},${y}`).toBe(true);
      }
    }
    for (let y = 0; y < SIZE; y++) expect(pixel(hint, 125, y)).toEqual([0, 0, 0]);
  });

  it('is missing without models/annotators/openpose', async () => {
    const error = await makeHint('openpose', image, { ...options, annotators: graphAnnotators({}) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnnotatorMissingError);
    expect((error as AnnotatorMissingError).folder).toBe('models/annotators/openpose/');
  });
});

describe('OpenCV drawing primitives', () => {
  it("fills a radius-4 circle with OpenCV's span widths (4, 3, 3, 2, 0)", () => {
    const canvas = { data: new Uint8Array(11 * 11 * 3), width: 11, height: 11 };
    fillCircle(canvas, 5, 5, 4, [255, 255, 255]);
    const widths = [0, 1, 2, 3, 4].map((dy) => {
      let lit = 0;
      for (let x = 0; x < 11; x++) if (canvas.data[((5 + dy) * 11 + x) * 3] === 255) lit++;
      return (lit - 1) / 2;
    });
    expect(widths).toEqual([4, 3, 3, 2, 0]);
  });

  it('makes the ellipse polygon of ellipse2Poly: axis ends at the rotated axes', () => {
    const points = ellipsePolygon(50, 40, 20, 4, 90, 1);
    expect(points[0]).toEqual([50, 60]);
    expect(points).toContainEqual([46, 40]);
    expect(points).toContainEqual([50, 20]);
    expect(points[points.length - 1]).toEqual([50, 60]);
  });
});
