import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/image/types.js';
import { drawLine } from '../../src/preprocessors/draw-line.js';
import { HintError, makeHint, type LineDetector } from '../../src/preprocessors/registry.js';
import { channel0, count, coveredFraction, mirrorX, paintPolygon, squareCorners } from './helpers.js';

const SIZE = { width: 256, height: 256, detectResolution: 256 };

/** The polygon's outline drawn 1 px wide. */
function outline(corners: [number, number][], w: number, h: number): Uint8Array {
  const canvas = new Uint8Array(w * h);
  for (let i = 0; i < corners.length; i++) {
    const [ax, ay] = corners[i];
    const [bx, by] = corners[(i + 1) % corners.length];
    drawLine(canvas, w, h, Math.round(ax), Math.round(ay), Math.round(bx), Math.round(by), 255);
  }
  return canvas;
}

describe('mlsd hint', () => {
  it('draws the sides of a turned square as thin white lines and nothing else', async () => {
    const corners = squareCorners(128, 128, 128, 25);
    const hint = channel0((await makeHint('mlsd', paintPolygon(256, 256, corners, 210, 25), SIZE)).image);
    const truth = outline(corners, 256, 256);
    expect(new Set(hint)).toEqual(new Set([0, 255]));
    expect(coveredFraction(hint, truth, 256, 256, 2)).toBe(1); // nothing off the sides
    expect(coveredFraction(truth, hint, 256, 256, 2)).toBeGreaterThan(0.95); // the sides are drawn
    expect(count(hint)).toBeLessThan(count(truth) * 1.2); // one line per side, 1 px wide
  });

  it('mirrors with the image', async () => {
    const corners = squareCorners(120, 136, 100, 15);
    const a = channel0((await makeHint('mlsd', paintPolygon(256, 256, corners, 200, 40), SIZE)).image);
    const mirroredCorners = corners.map(([x, y]) => [255 - x, y] as [number, number]);
    const b = mirrorX(channel0((await makeHint('mlsd', paintPolygon(256, 256, mirroredCorners, 200, 40), SIZE)).image), 256, 256);
    expect(count(a)).toBeGreaterThan(300);
    expect(coveredFraction(a, b, 256, 256, 1)).toBeGreaterThan(0.97);
    expect(coveredFraction(b, a, 256, 256, 1)).toBeGreaterThan(0.97);
  });

  it('drops short and faint segments by thrD and thrV', async () => {
    // A strong long bar and a faint short one.
    const image = paintPolygon(
      256,
      256,
      [
        [20, 60],
        [230, 60],
        [230, 80],
        [20, 80],
      ],
      240,
      20,
    );
    for (let y = 150; y < 170; y++) for (let x = 100; x < 140; x++) image.data.fill(45, (y * 256 + x) * 3, (y * 256 + x) * 3 + 3);
    const lit = async (extra: object) => channel0((await makeHint('mlsd', image, { ...SIZE, ...extra })).image);
    const rows = (map: Uint8Array, y0: number, y1: number) => count(map.subarray(y0 * 256, y1 * 256));
    const all = await lit({ thrV: 0, thrD: 0 });
    expect(rows(all, 55, 85)).toBeGreaterThan(300);
    expect(rows(all, 145, 175)).toBeGreaterThan(60);
    const longOnly = await lit({ thrD: 100 });
    expect(rows(longOnly, 55, 85)).toBeGreaterThan(300);
    expect(rows(longOnly, 145, 175)).toBe(0);
    const strongOnly = await lit({ thrV: 0.5 });
    expect(rows(strongOnly, 55, 85)).toBeGreaterThan(300);
    expect(rows(strongOnly, 145, 175)).toBe(0);
    expect(count(await lit({ thrD: 1000 }))).toBe(0);
  });

  it('takes its segments from options.lineDetector, at the detect resolution', async () => {
    const calls: { width: number; height: number; channels: number; thrV: number; thrD: number }[] = [];
    const fake: LineDetector = {
      name: 'fake',
      detect: async (image: RawImage, t) => {
        calls.push({ width: image.width, height: image.height, channels: image.channels, ...t });
        return [{ x1: 10.9, y1: 20.2, x2: 100.7, y2: 50.5, score: 1 }];
      },
    };
    const input = paintPolygon(
      100,
      50,
      [
        [0, 0],
        [10, 0],
        [10, 10],
      ],
      0,
      0,
    );
    const hint = await makeHint('mlsd', input, { width: 256, height: 128, detectResolution: 128, lineDetector: fake, thrV: 0.3, thrD: 7 });
    expect(calls).toEqual([{ width: 256, height: 128, channels: 3, thrV: 0.3, thrD: 7 }]);
    const expected = new Uint8Array(256 * 128);
    drawLine(expected, 256, 128, 10, 20, 100, 50, 255); // ends truncated like int() in controlnet_aux
    expect(channel0(hint.image)).toEqual(expected);
  });

  it('rejects thresholds out of range, naming the field', async () => {
    const image = paintPolygon(
      64,
      64,
      [
        [0, 0],
        [10, 0],
        [10, 10],
      ],
      0,
      0,
    );
    await expect(makeHint('mlsd', image, { width: 64, height: 64, thrV: 1.5 })).rejects.toThrow(/thrV/);
    await expect(makeHint('mlsd', image, { width: 64, height: 64, thrD: -2 })).rejects.toThrow(HintError);
  });
});
