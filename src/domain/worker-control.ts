import type { HintReply, HintRequest } from './hint.js';
import type { BaseModelFiles } from './model-files.js';
import type { LoadedReport } from './sessions.js';

/** What this process can do to the inference workers (local threads, or remote nodes through Redis). */
export interface WorkerControl {
  preload(model: BaseModelFiles, controlnets: string[]): Promise<string | null>;
  loaded(): Promise<LoadedReport[]>;
  release(prefix?: string): Promise<number>;
  /** Re-initialises the workers (restart_server): running jobs finish first. */
  restart(): Promise<void>;
  /** A hint preview (detect endpoint). */
  hint(request: HintRequest): Promise<HintReply>;
}
