import type { InferenceSession } from 'onnxruntime-node';
import type { RawImage } from '../image/types.js';
import type { LineDetector } from './lsd/types.js';

export interface HintOptions {
  /** Output size: the generation size. */
  width: number;
  height: number;
  /** Short side of the image the detector sees (rounded to multiples of 64 as controlnet_aux does); default 512. */
  detectResolution?: number;
  /** Canny hysteresis thresholds on the L1 Sobel magnitude; default 100 / 200 (canny, scribble, aesthetic). */
  lowThreshold?: number;
  highThreshold?: number;
  /** Shuffle: seed of the flow field; the same seed gives the same hint. Default: a fresh random seed. */
  seed?: number;
  /** Inpaint: white = repaint. Required for `inpaint`. */
  mask?: RawImage;
  /**
   * M-LSD: minimum segment score in [0, 1] and minimum length; default 0.1 / 0.1. The length is in pixels
   * at the detect resolution for the classical LSD, in the M-LSD network's half-size map as controlnet_aux.
   */
  thrV?: number;
  thrD?: number;
  /** Tile: the image is scaled down by this factor and back up; default 2 (1 keeps all detail). */
  tileRate?: number;
  /** M-LSD: the line detector to use; default the M-LSD network when installed, else the classical LSD. */
  lineDetector?: LineDetector;
  /** Folder holding the model-based annotators; default `models/annotators` (named in AnnotatorMissingError). */
  annotatorsDir?: string;
  /** Opens the annotator networks of model-based types; without it, those types throw AnnotatorMissingError. */
  annotators?: AnnotatorSessions;
}

/**
 * The annotator networks the worker thread owns: `models/annotators/<name>/<file or model.onnx>` as an open
 * (cached) session, or null when that file is absent.
 */
export interface AnnotatorSessions {
  session(name: string, file?: string): Promise<InferenceSession | null>;
}

export interface Hint {
  /** RGB, width×height: what the ControlNet gets and what a preview shows. */
  image: RawImage;
  /** width*height, 1 where the control tensor must be -1 (inpaint). */
  minusOneMask?: Uint8Array;
}

/** One preprocessor: turns the (validated) input image into its hint. */
export type HintProducer = (image: RawImage, options: HintOptions) => Promise<Hint>;
