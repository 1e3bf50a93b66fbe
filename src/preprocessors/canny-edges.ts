import type { RawImage } from '../image/types.js';

// tan(22.5°) in Q15, as OpenCV's Canny computes its sector test in integers.
const CANNY_SHIFT = 15;
const TG22 = Math.floor(0.4142135623730950488016887242097 * (1 << CANNY_SHIFT) + 0.5);

/**
 * Edge map of OpenCV's `Canny(image, low, high)` with apertureSize 3 and L2gradient false, on any number of
 * channels: 3×3 Sobel with replicated borders per channel, at each pixel the channel with the largest
 * |dx|+|dy| (the first on ties), non-maximum suppression with OpenCV's tangent sector test, double
 * threshold (strictly above floor(low) / floor(high)) and 8-connected hysteresis. Returns width*height
 * bytes, 255 on edges and 0 elsewhere. Thresholds are swapped when low > high, as OpenCV does.
 */
export function cannyEdges(image: RawImage, lowThreshold: number, highThreshold: number): Uint8Array {
  const { data, width: w, height: h, channels: cn } = image;
  const low = Math.floor(Math.min(lowThreshold, highThreshold));
  const high = Math.floor(Math.max(lowThreshold, highThreshold));

  const n = w * h;
  const gx = new Int16Array(n);
  const gy = new Int16Array(n);
  // Magnitudes with a one-pixel zero frame, so that the suppression needs no bounds checks.
  const ms = w + 2;
  const mag = new Int32Array(ms * (h + 2));
  sobelBestChannel(data, w, h, cn, gx, gy, mag);

  // map: 1 = cannot be an edge (also the frame), 0 = weak candidate, 2 = edge. Same layout as `mag`.
  const map = new Uint8Array(ms * (h + 2)).fill(1);
  const stack = new Int32Array(n);
  let top = 0;

  for (let y = 0; y < h; y++) {
    const row = (y + 1) * ms + 1;
    const g = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      const m = mag[i];
      if (m <= low) continue;
      const xs = gx[g + x];
      const ys = gy[g + x];
      const ax = xs < 0 ? -xs : xs;
      const ay = (ys < 0 ? -ys : ys) * (1 << CANNY_SHIFT);
      const tg22x = ax * TG22;
      let isMax: boolean;
      if (ay < tg22x) {
        // Near-horizontal gradient: compare with the left and right neighbours.
        isMax = m > mag[i - 1] && m >= mag[i + 1];
      } else if (ay > tg22x + ax * (1 << (CANNY_SHIFT + 1))) {
        // Near-vertical gradient: compare with the pixels above and below.
        isMax = m > mag[i - ms] && m >= mag[i + ms];
      } else {
        // Diagonal: the sign of dx*dy picks which diagonal.
        const s = (xs ^ ys) < 0 ? -1 : 1;
        isMax = m > mag[i - ms - s] && m > mag[i + ms + s];
      }
      if (!isMax) continue;
      if (m > high) {
        map[i] = 2;
        stack[top++] = i;
      } else {
        map[i] = 0;
      }
    }
  }

  // Hysteresis: grow strong edges through weak candidates, 8-connected. Each pixel is pushed once at most.
  while (top > 0) {
    const i = stack[--top];
    if (map[i - 1] === 0) {
      map[i - 1] = 2;
      stack[top++] = i - 1;
    }
    if (map[i + 1] === 0) {
      map[i + 1] = 2;
      stack[top++] = i + 1;
    }
    if (map[i - ms - 1] === 0) {
      map[i - ms - 1] = 2;
      stack[top++] = i - ms - 1;
    }
    if (map[i - ms] === 0) {
      map[i - ms] = 2;
      stack[top++] = i - ms;
    }
    if (map[i - ms + 1] === 0) {
      map[i - ms + 1] = 2;
      stack[top++] = i - ms + 1;
    }
    if (map[i + ms - 1] === 0) {
      map[i + ms - 1] = 2;
      stack[top++] = i + ms - 1;
    }
    if (map[i + ms] === 0) {
      map[i + ms] = 2;
      stack[top++] = i + ms;
    }
    if (map[i + ms + 1] === 0) {
      map[i + ms + 1] = 2;
      stack[top++] = i + ms + 1;
    }
  }

  const out = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    const row = (y + 1) * ms + 1;
    const o = y * w;
    for (let x = 0; x < w; x++) if (map[row + x] === 2) out[o + x] = 255;
  }
  return out;
}

/**
 * 3×3 Sobel (unnormalised, replicated border) of every channel; keeps per pixel the dx, dy of the channel
 * with the largest |dx|+|dy| and writes that magnitude into the framed `mag` (row stride w+2).
 */
function sobelBestChannel(data: Uint8Array, w: number, h: number, cn: number, gx: Int16Array, gy: Int16Array, mag: Int32Array): void {
  const stride = w * cn;
  const ms = w + 2;
  for (let y = 0; y < h; y++) {
    const up = (y > 0 ? y - 1 : 0) * stride;
    const mid = y * stride;
    const down = (y < h - 1 ? y + 1 : h - 1) * stride;
    const mrow = (y + 1) * ms + 1;
    for (let x = 0; x < w; x++) {
      const l = (x > 0 ? x - 1 : 0) * cn;
      const c = x * cn;
      const r = (x < w - 1 ? x + 1 : w - 1) * cn;
      let bestM = -1;
      let bestX = 0;
      let bestY = 0;
      for (let k = 0; k < cn; k++) {
        const a = data[up + l + k],
          b = data[up + c + k],
          cc = data[up + r + k];
        const d = data[mid + l + k],
          f = data[mid + r + k];
        const g = data[down + l + k],
          hh = data[down + c + k],
          ii = data[down + r + k];
        const dx = cc - a + 2 * (f - d) + ii - g;
        const dy = g + 2 * hh + ii - a - 2 * b - cc;
        const m = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
        if (m > bestM) {
          bestM = m;
          bestX = dx;
          bestY = dy;
        }
      }
      const o = y * w + x;
      gx[o] = bestX;
      gy[o] = bestY;
      mag[mrow + x] = bestM;
    }
  }
}
