import { AnnotatorMissingError } from './errors.js';
import type { HintProducer } from './types.js';

/**
 * Hint types that need an annotator network, with the folder name under `models/annotators/` each one
 * will load from. Until their ONNX paths exist, asking for them throws AnnotatorMissingError.
 */
export const MODEL_ANNOTATORS: Readonly<Record<string, string>> = {
  depth: 'midas',
  normal: 'normalbae',
  hed: 'hed',
  softedge: 'pidinet',
  lineart: 'lineart',
  openpose: 'openpose',
  segmentation: 'upernet',
  face_detector: 'mediapipe_face',
};

/** The producer registered for a model-based type: it names the annotator and the folder it needs. */
export function missingAnnotator(hintType: string, annotator: string): HintProducer {
  return async (_image, options) => {
    const root = (options.annotatorsDir ?? 'models/annotators').replace(/\/+$/, '');
    throw new AnnotatorMissingError(hintType, annotator, `${root}/${annotator}/`);
  };
}
