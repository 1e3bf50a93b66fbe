import type { InferenceSession } from 'onnxruntime-node';
import { AnnotatorMissingError, type AnnotatorInstall } from './errors.js';
import type { HintOptions } from './types.js';

/**
 * The annotator networks, by folder name under `models/annotators/`: the file each one loads and, for the
 * error a user sees when it is missing, what to put there. docs/annotators.md has the details (I/O, export).
 */
export const ANNOTATOR_FILES: Readonly<Record<string, AnnotatorInstall>> = {
  midas: { file: 'model.onnx', source: 'MiDaS DPT-Hybrid (lllyasviel/Annotators dpt_hybrid-midas-501f0c75.pt or Intel/dpt-hybrid-midas) exported to ONNX' },
  depth_anything: { file: 'model.onnx', source: 'a Depth Anything ONNX export such as onnx-community/depth-anything-v2-small onnx/model.onnx' },
  normalbae: { file: 'model.onnx', source: 'NormalBAE (lllyasviel/Annotators scannet.pt) exported to ONNX' },
  hed: { file: 'model.onnx', source: 'ControlNet HED (lllyasviel/Annotators ControlNetHED.pth) exported to ONNX' },
  pidinet: { file: 'model.onnx', source: 'PiDiNet (lllyasviel/Annotators table5_pidinet.pth) exported to ONNX' },
  lineart: { file: 'model.onnx', source: 'lineart (lllyasviel/Annotators sk_model.pth) exported to ONNX' },
  openpose: { file: 'model.onnx', source: 'the OpenPose body model (lllyasviel/Annotators body_pose_model.pth) exported to ONNX' },
  upernet: { file: 'model.onnx', source: 'an ADE20K segmenter such as openmmlab/upernet-convnext-small exported to ONNX' },
  mediapipe_face: { file: 'model.onnx', source: 'a MediaPipe face-mesh ONNX port with 468 or 478 landmarks' },
  mlsd: { file: 'model.onnx', source: 'M-LSD large (lllyasviel/Annotators mlsd_large_512_fp32.pth) exported to ONNX' },
};

/**
 * Hint types that need an annotator network, with the folder each one loads from first (normal falls
 * back to MiDaS, depth to Depth Anything).
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

function annotatorRoot(options: HintOptions): string {
  return (options.annotatorsDir ?? 'models/annotators').replace(/\/+$/, '');
}

/** The error for a model-based type none of whose annotators is installed; it names the first one. */
export function annotatorMissing(hintType: string, annotator: string, options: HintOptions): AnnotatorMissingError {
  return new AnnotatorMissingError(hintType, annotator, `${annotatorRoot(options)}/${annotator}/`, ANNOTATOR_FILES[annotator]);
}

/** The first installed annotator of `names` (in order), with its session; null when none is. */
export async function firstInstalled(options: HintOptions, names: readonly string[]): Promise<{ name: string; session: InferenceSession } | null> {
  if (options.annotators === undefined) return null;
  for (const name of names) {
    const session = await options.annotators.session(name, ANNOTATOR_FILES[name]?.file);
    if (session !== null) return { name, session };
  }
  return null;
}

/** The session of `annotator`, or AnnotatorMissingError for `hintType`. */
export async function requireAnnotator(hintType: string, annotator: string, options: HintOptions): Promise<InferenceSession> {
  const found = await firstInstalled(options, [annotator]);
  if (found === null) throw annotatorMissing(hintType, annotator, options);
  return found.session;
}
