import type { SessionSettings } from '../runtime/session.js';
import { InferenceWorker } from './worker-client.js';
import type { BaseModelFiles, HintReply, HintRequest, LoadedReport, WarmupReport, WarmupSize } from '../domain/index.js';

/** The inference worker threads of this process (one per device), managed together. */
export class WorkerPool {
  readonly workers: InferenceWorker[];

  constructor(settings: SessionSettings, count = 1, annotatorsDir?: string, output?: (text: string) => void) {
    this.workers = Array.from({ length: count }, () => new InferenceWorker(settings, annotatorsDir, output));
  }

  /** Opens a model's sessions on every worker; resolves to the first error message, or null. */
  async preload(model: BaseModelFiles, controlnets: string[]): Promise<string | null> {
    const results = await Promise.all(this.workers.map((w) => w.preload(model, controlnets)));
    return results.find((r) => r !== null) ?? null;
  }

  private nextHint = 0;

  /** A hint on one of the workers (round robin). */
  hint(request: HintRequest): Promise<HintReply> {
    const worker = this.workers[this.nextHint++ % this.workers.length];
    return worker.hint(request);
  }

  /** Warms every worker up at the given sizes; resolves to the first worker's report or an error message. */
  async warmUp(model: BaseModelFiles, controlnets: string[], sizes: WarmupSize[], fuse: string[] = []): Promise<WarmupReport[] | string> {
    const reports = await Promise.all(this.workers.map((w) => w.warmUp(model, controlnets, sizes, fuse)));
    return reports.find((r) => typeof r === 'string') ?? reports[0] ?? [];
  }

  async loaded(): Promise<LoadedReport[]> {
    const all = await Promise.all(this.workers.map((w) => w.loaded()));
    const seen = new Map<string, LoadedReport>();
    for (const list of all) for (const s of list ?? []) seen.set(s.key ?? s.path, s);
    return [...seen.values()];
  }

  /** Closes sessions under `prefix` (all by default) on every worker; returns how many closed. */
  async release(prefix = ''): Promise<number> {
    const counts = await Promise.all(this.workers.map((w) => w.release(prefix)));
    return counts.reduce((a, b) => a + (b ?? 0), 0);
  }

  async restart(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.restart()));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
