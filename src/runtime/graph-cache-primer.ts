/**
 * Parallel cold start on CPU. onnxruntime-node creates a session synchronously on the calling thread, so the sessions
 * a preload opens together still open one at a time, and on a first start each spends most of that time in graph
 * optimisation. A session cannot move between threads, but the optimised graph can: short-lived threads, one per
 * model file missing from the graph cache (at most one per CPU), each open that file with the cache's writing options
 * and close it again; the worker then opens every file from the cache, with optimisation off.
 *
 * CPU only (each CUDA thread would create its own context and copy the weights to the device: sequential is safer),
 * and only when the files to optimise are big enough to repay starting threads (PRIME_FROM_BYTES).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CACHED_MODEL, graphCacheKey } from './graph-cache.js';
import { providerOptions, sessionOptionsFor } from './provider-options.js';
import { providerOrder, type SessionSettings } from './session.js';
import { sessionBytes } from './session-bytes.js';

/** Below this many bytes of files to optimise, a thread's start costs more than it saves. */
export const PRIME_FROM_BYTES = 256 * 2 ** 20;

export interface PrimeReport {
  /** Files whose optimised graph was written, by a thread each. */
  primed: string[];
  /** Files that failed in their thread (the worker opens them as usual), with why. */
  failed: { file: string; reason: string }[];
  ms: number;
}

/** The files among `files` with no entry in the graph cache for the CPU provider and these settings. */
export async function missingFromCache(files: readonly string[], settings: SessionSettings): Promise<string[]> {
  const cacheDir = settings.graphCacheDir;
  if (!cacheDir) return [];
  const options = { ...sessionOptionsFor('cpu', settings.threads), executionProviders: providerOptions('cpu', settings.deviceId) };
  const missing: string[] = [];
  for (const file of new Set(files)) {
    const key = await graphCacheKey(file, 'cpu', options);
    const present = await fs.stat(path.join(cacheDir, key, CACHED_MODEL)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!present) missing.push(file);
  }
  return missing;
}

/** One thread that opens `file` through the graph cache (writing its entry) and closes it. */
function primeInThread(file: string, settings: SessionSettings): Promise<void> {
  const workerData = { file, settings };
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        // From TypeScript sources (tsx, vitest): register tsx's loader inside the thread first.
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./graph-cache-primer-thread.ts', import.meta.url).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(fileURLToPath(new URL('./graph-cache-primer-thread.js', import.meta.url)), { workerData });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { ok: boolean; reason?: string }) => (m.ok ? resolve() : reject(new Error(m.reason))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`graph cache thread exited with code ${code}`)));
  });
}

/**
 * Writes the graph-cache entries `files` lack, several at once, when the settings run on CPU only, use a graph cache,
 * and the files to optimise weigh at least `fromBytes`. Never throws: a file that fails here opens as usual.
 */
export async function primeGraphCache(files: readonly string[], settings: SessionSettings, fromBytes = PRIME_FROM_BYTES): Promise<PrimeReport> {
  const started = performance.now();
  const report: PrimeReport = { primed: [], failed: [], ms: 0 };
  if (!settings.graphCacheDir || providerOrder(settings.providers)[0] !== 'cpu') return report;
  const missing = await missingFromCache(files, settings).catch(() => [] as string[]);
  const bytes = (await Promise.all(missing.map(sessionBytes))).reduce((a, b) => a + b, 0);
  if (missing.length < 2 || bytes < fromBytes) return report;
  const queue = [...missing];
  const lanes = Math.min(queue.length, os.availableParallelism());
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        await primeInThread(file, settings).then(
          () => report.primed.push(file!),
          (err: Error) => report.failed.push({ file: file!, reason: err.message.split('\n')[0]! }),
        );
      }
    }),
  );
  report.ms = performance.now() - started;
  return report;
}
