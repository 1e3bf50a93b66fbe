import type { BaseModelFiles, GenerationResult, GenerationSpec, HintReply, HintRequest, WarmupSize } from '../domain/index.js';
import type { SessionSettings } from '../runtime/session.js';

export type { HintReply, HintRequest };

/** Messages between the HTTP thread and an inference worker thread. */
export type ToWorker =
  | { type: 'generate'; spec: GenerationSpec }
  | { type: 'release'; requestId: number; prefix: string }
  | { type: 'loaded'; requestId: number }
  | { type: 'preload'; requestId: number; model: BaseModelFiles; controlnets: string[] }
  | { type: 'hint'; requestId: number; request: HintRequest }
  | { type: 'warmup'; requestId: number; model: BaseModelFiles; controlnets: string[]; sizes: WarmupSize[]; fuse: string[] };

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
