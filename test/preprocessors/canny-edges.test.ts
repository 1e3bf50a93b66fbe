import { describe, expect, it } from 'vitest';
import { cannyEdges } from '../../src/preprocessors/canny-edges.js';
import { channel0, count, coveredFraction, mirrorX, paintRgb, readGray, readRgb } from './helpers.js';

describe('cannyEdges', () => {
  it('finds the border of a filled rectangle and nothing else, with OpenCV tie-breaking', () => {
    const w = 64;
    const h = 48;
    const inside = (x: number, y: number) => x >= 16 && x < 40 && y >= 12 && y < 36;
    const edges = cannyEdges(
      paintRgb(w, h, (x, y) => (inside(x, y) ? 200 : 0)),
      100,
      200,
    );
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (edges[y * w + x] === 0) continue;
        expect(edges[y * w + x]).toBe(255);
        // Every edge pixel touches the boundary: its 3×3 window holds inside and outside pixels.
        let ins = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (inside(x + dx, y + dy)) ins++;
        expect(ins > 0 && ins < 9, `edge at ${x},${y}`).toBe(true);
      }
    }
    // Both sides of a step have the same magnitude: OpenCV keeps the first (left / upper) of the two.
    for (let y = 13; y < 35; y++) {
      const row = [...edges.subarray(y * w, (y + 1) * w)].flatMap((v, x) => (v ? [x] : []));
      expect(row, `row ${y}`).toEqual([15, 39]);
    }
    for (let x = 17; x < 39; x++) {
      const col = [...Array(h).keys()].filter((y) => edges[y * w + x]);
      expect(col, `column ${x}`).toEqual([11, 35]);
    }
  });

  it('finds nothing in a flat image', () => {
    expect(
      count(
        cannyEdges(
          paintRgb(32, 32, () => 77),
          1,
          2,
        ),
      ),
    ).toBe(0);
  });

  it('gives mirror-symmetric edges for a mirror-symmetric pattern, up to OpenCV tie-breaks at corners', () => {
    const w = 41;
    const h = 41;
    // A 1-px cross and a 1-px square outline centred at (20, 20).
    const line = (x: number, y: number) => x === 20 || y === 20 || ((x === 8 || x === 32) && y >= 8 && y <= 32) || ((y === 8 || y === 32) && x >= 8 && x <= 32);
    const edges = cannyEdges(
      paintRgb(w, h, (x, y) => (line(x, y) ? 180 : 20)),
      100,
      200,
    );
    const mirrored = mirrorX(edges, w, h);
    expect(count(edges)).toBeGreaterThan(300);
    // Equal magnitudes on both sides of a maximum are resolved towards one side (> on one, >= on the other),
    // which mirroring cannot preserve: only the square's four outer corners may differ.
    const differing: number[][] = [];
    for (let i = 0; i < edges.length; i++) if (edges[i] !== mirrored[i]) differing.push([i % w, Math.floor(i / w)]);
    expect(differing).toEqual([
      [7, 8],
      [33, 8],
      [7, 32],
      [33, 32],
    ]);
    expect(coveredFraction(edges, mirrored, w, h, 1)).toBe(1);
  });

  it('on a photo, mirrors to the mirrored edges within OpenCV one-pixel tie-breaking', async () => {
    const img = await readRgb('coffee.png');
    const { width: w, height: h } = img;
    const flipped = new Uint8Array(img.data.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) flipped.set(img.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + w - 1 - x) * 3);
    const a = cannyEdges(img, 100, 200);
    const b = mirrorX(cannyEdges({ ...img, data: flipped }, 100, 200), w, h);
    expect(coveredFraction(a, b, w, h, 1)).toBeGreaterThan(0.98);
    expect(coveredFraction(b, a, w, h, 1)).toBeGreaterThan(0.98);
  });

  it('only removes edges when the thresholds rise', async () => {
    const img = await readRgb('astronaut.png');
    const loose = cannyEdges(img, 50, 150);
    const mid = cannyEdges(img, 100, 200);
    const strict = cannyEdges(img, 150, 300);
    for (const [bigger, smaller] of [
      [loose, mid],
      [mid, strict],
    ] as const) {
      for (let i = 0; i < smaller.length; i++) if (smaller[i]) expect(bigger[i]).toBe(255);
      expect(count(smaller)).toBeLessThan(count(bigger));
    }
  });

  it('swaps thresholds given in the wrong order, as OpenCV', async () => {
    const img = await readRgb('rocket.png');
    expect(cannyEdges(img, 200, 100)).toEqual(cannyEdges(img, 100, 200));
  });

  it('gives the same edges for a gray image with 1 or 3 channels', async () => {
    const rgb = await readRgb('coffee.png');
    const gray = channel0(rgb);
    const one = cannyEdges({ data: gray, width: rgb.width, height: rgb.height, channels: 1 }, 60, 120);
    const three = cannyEdges(
      paintRgb(rgb.width, rgb.height, (x, y) => gray[y * rgb.width + x]),
      60,
      120,
    );
    expect(count(one)).toBeGreaterThan(500);
    expect(one).toEqual(three);
  });

  // References made once with OpenCV 4.6's cv2.Canny on the RGB array (test/fixtures/make-fixtures.py).
  for (const name of ['astronaut', 'coffee', 'rocket']) {
    for (const [low, high] of [
      [100, 200],
      [50, 150],
    ] as const) {
      it(`matches OpenCV on ${name} with thresholds ${low}/${high}`, async () => {
        const img = await readRgb(`${name}.png`);
        const ref = await readGray(`${name}-canny-${low}-${high}.png`);
        const edges = cannyEdges(img, low, high);
        let differing = 0;
        for (let i = 0; i < edges.length; i++) if (edges[i] !== ref.data[i]) differing++;
        expect(count(ref.data)).toBeGreaterThan(1000);
        expect(differing).toBe(0);
      });
    }
  }
});
