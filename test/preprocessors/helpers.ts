import sharp from 'sharp';
import { fileURLToPath } from 'node:url';
import type { RawImage } from '../../src/image/types.js';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** A fixture PNG as RGB. */
export async function readRgb(name: string): Promise<RawImage> {
  const { data, info } = await sharp(fixturePath(name)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** A fixture PNG's first channel (sharp would otherwise expand grayscale PNGs to RGB). */
export async function readGray(name: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(fixturePath(name)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** A w×h single-colour image with `paint(x, y)` giving the gray level of each pixel. */
export function paintRgb(w: number, h: number, paint: (x: number, y: number) => number): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = paint(x, y);
      data.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return { data, width: w, height: h, channels: 3 };
}

/** The first channel of an interleaved image. */
export function channel0(image: RawImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) out[i] = image.data[i * image.channels];
  return out;
}

export function mirrorX(map: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = map[y * w + (w - 1 - x)];
  return out;
}

export function count(map: Uint8Array, predicate: (v: number) => boolean = (v) => v !== 0): number {
  let n = 0;
  for (const v of map) if (predicate(v)) n++;
  return n;
}

/** Fraction of the nonzero pixels of `a` that have a nonzero pixel of `b` within Chebyshev distance r. */
export function coveredFraction(a: Uint8Array, b: Uint8Array, w: number, h: number, r: number): number {
  let total = 0;
  let hit = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (a[y * w + x] === 0) continue;
      total++;
      search: for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          if (b[yy * w + xx] !== 0) {
            hit++;
            break search;
          }
        }
      }
    }
  }
  return total === 0 ? 1 : hit / total;
}

/** Whether (x, y) lies inside the convex polygon `corners` (either winding). */
function insideConvex(corners: readonly (readonly [number, number])[], x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < corners.length; i++) {
    const [ax, ay] = corners[i];
    const [bx, by] = corners[(i + 1) % corners.length];
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (cross === 0) continue;
    if (sign === 0) sign = Math.sign(cross);
    else if (Math.sign(cross) !== sign) return false;
  }
  return true;
}

/**
 * A gray RGB image with an anti-aliased convex polygon (corners in pixel coordinates, pixel centres at
 * integers): each pixel blends `fg` over `bg` by the share of its 8×8 subsamples inside the polygon.
 */
export function paintPolygon(w: number, h: number, corners: readonly (readonly [number, number])[], fg: number, bg: number): RawImage {
  const s = 8;
  return paintRgb(w, h, (x, y) => {
    let hits = 0;
    for (let j = 0; j < s; j++) for (let i = 0; i < s; i++) if (insideConvex(corners, x - 0.5 + (i + 0.5) / s, y - 0.5 + (j + 0.5) / s)) hits++;
    return Math.round(bg + ((fg - bg) * hits) / (s * s));
  });
}

/** Corners of a square of side `side` centred at (cx, cy), turned by `degrees`. */
export function squareCorners(cx: number, cy: number, side: number, degrees: number): [number, number][] {
  const a = (degrees * Math.PI) / 180;
  const c = Math.cos(a) * (side / 2);
  const s = Math.sin(a) * (side / 2);
  return [
    [cx - c + s, cy - s - c],
    [cx + c + s, cy + s - c],
    [cx + c - s, cy + s + c],
    [cx - c - s, cy - s + c],
  ];
}
