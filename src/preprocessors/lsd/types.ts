import type { RawImage } from '../../image/types.js';

/** A straight segment in pixel coordinates of the image it was found in (pixel centres at integers). */
export interface LineSegment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Detector confidence in [0, 1]; compared with `thrV`. */
  score: number;
}

export interface LineDetectorThresholds {
  /** Minimum score in [0, 1]. */
  thrV: number;
  /** Minimum length in pixels of the image given to `detect` (M-LSD: of its half-size output map, as controlnet_aux). */
  thrD: number;
}

/**
 * What the mlsd hint needs from a line detector. The classical LSD implements it without weights; the
 * M-LSD network (`annotators/mlsd-network.ts`) implements it from `models/annotators/mlsd/model.onnx`.
 */
export interface LineDetector {
  readonly name: string;
  /** Segments of `image` (RGB at the detect resolution), already filtered by the thresholds. */
  detect(image: RawImage, thresholds: LineDetectorThresholds): Promise<LineSegment[]>;
}
