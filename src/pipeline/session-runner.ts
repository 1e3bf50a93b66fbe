/**
 * Runs sessions for one job (or one warm-up size) and sums the time inside each model's run() by label. A graph
 * exported with a fixed batch size runs in chunks of it (fixed-batch.ts).
 */
import type * as ort from 'onnxruntime-node';
import type { RunTimings } from '../domain/index.js';
import type { TensorSpec } from '../runtime/signatures.js';
import { batchedInputNames, runInFixedBatches } from './fixed-batch.js';

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

export class SessionRunner {
  readonly runMs: RunTimings = {};

  async run(label: string, session: ort.InferenceSession, feeds: Feeds): Promise<Outputs> {
    const t = performance.now();
    const out = await session.run(feeds);
    this.runMs[label] = (this.runMs[label] ?? 0) + (performance.now() - t);
    return out as Outputs;
  }

  /** `batched` are the inputs cut along the batch axis when the graph's batch is fixed to something else than `total`. */
  runBatched(label: string, session: ort.InferenceSession, feeds: Feeds, batched: readonly TensorSpec[], total: number, fixed: number | null): Promise<Outputs> {
    if (fixed === null || fixed === total) return this.run(label, session, feeds);
    return runInFixedBatches((f) => this.run(label, session, f), feeds, batchedInputNames(batched), total, fixed);
  }
}
