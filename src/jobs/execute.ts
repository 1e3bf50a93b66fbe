import type { Logger } from 'pino';
import type { GenerationResult, GenerationSpec, ProgressEvent } from '../domain/index.js';
import { JobFailedError } from '../domain/index.js';
import { workSizeOf, type EtaEstimator } from './eta.js';
import type { JobEvent } from './events.js';
import type { JobRecord, JobResult } from './record.js';
import { resultMeta } from './result-meta.js';
import { decodeRaw, joinSpec } from './spec-codec.js';
import type { BlobStore, JobStore } from './store.js';

/** Runs one generation: an inference worker thread (or, in tests, anything with the same shape). */
export interface JobRunner {
  run(spec: GenerationSpec, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult>;
}

export type JobPatch = Partial<Omit<JobRecord, 'id'>>;

/** What running a job needs from the backend (local files and SQLite, or Redis). */
export interface ExecuteContext {
  store: JobStore;
  blobs: BlobStore;
  eta: EtaEstimator;
  tempTtlMs: number;
  log: Pick<Logger, 'error'>;
  emit(event: JobEvent): void;
  /** Stores the PNGs of a finished job; returns their file names (and, in S3, where they went). */
  saveOutputs(record: JobRecord, pngs: readonly Uint8Array[]): Promise<Pick<JobResult, 'outputs' | 's3'>>;
  /** Writes the final state; null when this run no longer owns the job. */
  finish(id: string, patch: JobPatch): Promise<JobRecord | null>;
}

export interface Outcome {
  record: JobRecord;
  /** null when the job failed. */
  result: GenerationResult | null;
}

export const failurePatch = (message: string, clientError: boolean): JobPatch => ({
  state: 'failed',
  finishedAt: Date.now(),
  error: { message, clientError },
});

/**
 * Runs a job that is already marked running: reads its inputs, runs the generation (progress as events
 * and, at most twice a second, in the record), stores the outputs and records success or the failure
 * with its cause. The caller then deletes the inputs and announces the outcome.
 */
export async function executeJob(ctx: ExecuteContext, record: JobRecord, runner: JobRunner): Promise<Outcome | null> {
  const { id } = record;
  const failed = async (message: string, clientError: boolean): Promise<Outcome | null> => {
    const done = await ctx.finish(id, failurePatch(message, clientError));
    return done && { record: done, result: null };
  };
  let spec: GenerationSpec;
  try {
    spec = await loadSpec(ctx.blobs, record);
  } catch (err) {
    return failed(`the job's stored inputs could not be read: ${(err as Error).message}`, false);
  }
  let lastSaved = 0;
  const started = performance.now();
  try {
    const result = await runner.run(spec, (p) => {
      ctx.emit({ type: 'progress', id, step: p.step, total: p.total });
      const now = Date.now();
      if (now - lastSaved > 500 || p.step === p.total) {
        lastSaved = now;
        void ctx.store.update(id, { progress: p }).catch(() => undefined);
      }
    });
    ctx.eta.record(workSizeOf(record.spec), (performance.now() - started) / 1000);
    const saved = await ctx.saveOutputs(record, result.images);
    const finishedAt = Date.now();
    const done = await ctx.finish(id, {
      state: 'succeeded',
      finishedAt,
      progress: { step: result.stepsRun, total: result.stepsRun },
      result: {
        ...saved,
        meta: { ...record.response.meta, ...resultMeta(spec, result) },
        warnings: result.warnings,
        generationTime: Number((result.timings.totalMs / 1000).toFixed(3)),
      },
      expiresAt: record.response.temp ? finishedAt + ctx.tempTtlMs : null,
    });
    return done && { record: done, result };
  } catch (err) {
    const clientError = err instanceof JobFailedError && err.clientError;
    if (!clientError) ctx.log.error({ err, job: id }, 'job failed');
    return failed((err as Error).message, clientError);
  }
}

async function loadSpec(blobs: BlobStore, record: JobRecord): Promise<GenerationSpec> {
  const images: Record<string, ReturnType<typeof decodeRaw>> = {};
  for (const [slot, key] of Object.entries(record.inputs)) {
    const bytes = await blobs.get(key);
    if (!bytes) throw new Error(`missing ${slot} image`);
    images[slot] = decodeRaw(bytes);
  }
  return joinSpec(record.spec, images);
}
