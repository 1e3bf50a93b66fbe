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

function tensorBytes(t: ort.Tensor): number {
  return t.location === 'cpu' || t.location === 'cpu-pinned' ? (t.data as ArrayBufferView).byteLength : 0;
}

export class SessionRunner {
  readonly runMs: RunTimings = {};
  /** Bytes of the feeds and outputs of each model's run() calls: what crosses between the host and the runtime. */
  readonly runBytes: RunTimings = {};

  async run(label: string, session: ort.InferenceSession, feeds: Feeds): Promise<Outputs> {
    const t = performance.now();
    const out = await session.run(feeds);
    this.runMs[label] = (this.runMs[label] ?? 0) + (performance.now() - t);
    let bytes = 0;
    for (const v of Object.values(feeds)) bytes += tensorBytes(v);
    for (const v of Object.values(out)) bytes += tensorBytes(v);
    this.runBytes[label] = (this.runBytes[label] ?? 0) + bytes;
    return out as Outputs;
  }

  /** `batched` are the inputs cut along the batch axis when the graph's batch is fixed to something else than `total`. */
  runBatched(
    label: string,
    session: ort.InferenceSession,
    feeds: Feeds,
    batched: readonly TensorSpec[],
    total: number,
    fixed: number | null,
  ): Promise<Outputs> {
    if (fixed === null || fixed === total) return this.run(label, session, feeds);
    return runInFixedBatches((f) => this.run(label, session, f), feeds, batchedInputNames(batched), total, fixed);
  }
}
