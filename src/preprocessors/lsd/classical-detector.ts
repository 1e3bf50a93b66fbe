import type { RawImage } from '../../image/types.js';
import { rgbToGray } from '../rgb.js';
import { detectSegments } from './lsd.js';
import type { LineDetector, LineDetectorThresholds, LineSegment } from './types.js';

/** Classical LSD on the image's luma: needs no weights. */
export function detectClassicalLines(image: RawImage, thresholds: LineDetectorThresholds): LineSegment[] {
  const gray = rgbToGray(image);
  const data = new Float64Array(gray.length);
  for (let i = 0; i < gray.length; i++) data[i] = gray[i];
  const found: LineSegment[] = [];
  for (const s of detectSegments({ data, width: image.width, height: image.height })) {
    // Score: the segment's gradient strength relative to the image's strongest edge (M-LSD's score is a
    // confidence in [0, 1] too; thrV = 0.1 then drops faint lines as it does).
    if (s.strength < thresholds.thrV) continue;
    if (Math.hypot(s.x2 - s.x1, s.y2 - s.y1) < thresholds.thrD) continue;
    found.push({ x1: s.x1, y1: s.y1, x2: s.x2, y2: s.y2, score: s.strength });
  }
  return found;
}

export const classicalLineDetector: LineDetector = {
  name: 'lsd',
  detect: async (image, thresholds) => detectClassicalLines(image, thresholds),
};
