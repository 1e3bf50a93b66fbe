import type { BaseModelFiles, GenerationResult, GenerationSpec } from '../pipeline/spec.js';
import type { RawImage } from '../image/types.js';
import type { HintOptions } from '../preprocessors/registry.js';

/** A hint preview (the detect endpoint), computed on the worker where the annotator sessions live. */
export interface HintRequest {
  type: string;
  image: RawImage;
  options: Omit<HintOptions, 'annotators' | 'lineDetector'>;
}

export type HintReply = { ok: true; image: RawImage; minusOneMask?: Uint8Array } | { ok: false; message: string; clientError: boolean };
import type { SessionSettings } from '../runtime/session.js';
import type { WarmupSize } from '../pipeline/warmup-sizes.js';

/** Messages between the HTTP thread and an inference worker thread. */
export type ToWorker =
  | { type: 'generate'; spec: GenerationSpec }
  | { type: 'release'; requestId: number; prefix: string }
  | { type: 'loaded'; requestId: number }
  | { type: 'preload'; requestId: number; model: BaseModelFiles; controlnets: string[] }
  | { type: 'hint'; requestId: number; request: HintRequest }
  | { type: 'warmup'; requestId: number; model: BaseModelFiles; controlnets: string[]; sizes: WarmupSize[] };

export type FromWorker =
  | { type: 'progress'; id: string; step: number; total: number }
  | { type: 'result'; id: string; result: GenerationResult }
  | { type: 'failed'; id: string; message: string; clientError: boolean }
  | { type: 'reply'; requestId: number; value: unknown };

export interface WorkerData {
  settings: SessionSettings;
  /** Where hint networks live (models/annotators). */
  annotatorsDir: string;
}
