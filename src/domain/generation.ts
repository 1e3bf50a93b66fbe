import type { RawImage } from '../image/types.js';
import type { BaseModelFiles } from './model-files.js';

export interface ControlUnit {
  /** The contract's controlnet_model entry. */
  name: string;
  /** The hint type its preprocessor produces (controlnet_type). */
  type: string;
  modelPath: string;
  conditioningScale: number;
  /** The image the hint is made from (auto_hint) or the hint itself. */
  image: RawImage;
}

/** The `upscale` field resolved: the network (models/upscalers/<name>/model.onnx) and the factor asked for. */
export interface UpscaleSettings {
  name: string;
  modelPath: string;
  factor: number;
}

/** The `safety_checker` field resolved: the exported checker graph and its concepts.json. */
export interface SafetyCheckerSettings {
  modelPath: string;
  conceptsPath: string;
}

export interface HintSettings {
  detectResolution: number;
  lowThreshold: number;
  highThreshold: number;
}

/**
 * A generation job as the HTTP side hands it to an inference worker: plain data (structured-clone safe), already
 * validated, with every model resolved to files on disk.
 */
export interface GenerationSpec {
  id: string;
  model: BaseModelFiles;
  controlnets: ControlUnit[];
  autoHint: boolean;
  guessMode: boolean;
  prompt: string;
  /** null when the request did not send one: SD encodes "", SDXL zeroes it under force_zeros_for_empty_prompt. */
  negativePrompt: string | null;
  /** Source for img2img (strength < 1) and inpaint. */
  initImage: RawImage | null;
  /** Inpaint mask (white = repaint). Requires initImage. */
  maskImage: RawImage | null;
  strength: number;
  width: number;
  height: number;
  samples: number;
  steps: number;
  guidanceScale: number;
  /** The contract's clip_skip: 1 uses the last CLIP layer, k the k-th from the end (after the final norm). */
  clipSkip?: number;
  scheduler: string;
  useKarrasSigmas: boolean;
  algorithmType: string | null;
  seed: bigint;
  hint: HintSettings;
  /** Super-resolution after decode (request `upscale`); absent or null: none. */
  upscale?: UpscaleSettings | null;
  /** diffusers' safety checker after decode (request `safety_checker`); absent or null: none. */
  safetyChecker?: SafetyCheckerSettings | null;
}

export type GenerationMode = 'txt2img' | 'img2img' | 'inpaint';

/** Per-model time inside session.run(), in milliseconds, summed over the job. */
export type RunTimings = Record<string, number>;

export interface GenerationResult {
  /** One PNG per sample. */
  images: Uint8Array[];
  mode: GenerationMode;
  /** Denoising steps really run (fewer than `steps` for img2img/inpaint with strength < 1). */
  stepsRun: number;
  usedKarrasSigmas: boolean;
  /** Whether guess mode ran (requested, or forced by a ControlNet that pools its conditions). */
  guessMode: boolean;
  /** How each step ran: one fused ControlNets + UNet graph, or separate sessions (FUSED_STEP). */
  stepGraph?: 'fused' | 'separate';
  /** The algorithm type really used (DPMSolverMultistep only), else null. */
  algorithmType: string | null;
  /** Execution provider per component, e.g. { unet: "cpu" }. */
  providers: Record<string, string>;
  warnings: string[];
  /** The safety checker's verdict per image (a flagged image was replaced by a black one); null when it did not run. */
  nsfw?: boolean[] | null;
  /** What the upscale stage did: the final size, the factor and the network's own scale; null when it did not run. */
  upscaled?: { name: string; factor: number; modelScale: number; width: number; height: number } | null;
  /** runBytes: bytes of each model's feeds and outputs, summed over the job (host ↔ runtime traffic). */
  timings: { totalMs: number; runMs: RunTimings; runBytes?: RunTimings; hintMs: number; encodeMs: number };
}

export interface ProgressEvent {
  step: number;
  total: number;
}
