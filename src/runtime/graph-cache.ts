/**
 * The optimised-graph cache (GRAPH_CACHE_DIR, default DATA_DIR/ort-cache): the first time a model file opens on a
 * provider, onnxruntime writes the graph it optimised (`optimizedModelFilePath`); later starts open that file with
 * optimisation off, skipping constant folding, fusions and the CPU's NCHWc weight reordering, most of a big model's
 * session creation.
 *
 * The key: onnxruntime's version, the provider, the session options, the CPU (NCHWc and fused kernels are specific to
 * the instruction set the graph was optimised on) and the model file (and its external data) by path, size and mtime
 * plus a SHA-256 of its first and last MiB. Hashing a 3 GB UNet whole would cost seconds on every start, which is what
 * the cache saves; size + mtime catch every copy or rewrite in place, and the head/tail hash catches a file replaced
 * with one of the same size and time (the protobuf header, graph and names sit at the start, weights in the rest).
 *
 * An entry is one folder `<key>/` holding `model.onnx` (+ `model.onnx_data`, weights over 1 KiB, so models past
 * protobuf's 2 GB limit can be saved), written under a temporary name and renamed when complete: a crash leaves no
 * half entry behind, and `source.json` (the files it was made from; graph-cache-prune.ts keeps the folder under
 * GRAPH_CACHE_MAX_BYTES and drops entries whose files changed). An entry that fails to open is deleted and the model
 * opens (and is cached) again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { type CacheSource, ortVersion, pruneGraphCache, SOURCE_FILE, type SourceFile, touchEntry } from './graph-cache-prune.js';

export const CACHED_MODEL = 'model.onnx';
export const CACHED_DATA = 'model.onnx_data';
const EDGE = 1 << 20;

async function fileStamp(p: string): Promise<(SourceFile & { edges: string }) | null> {
  const stat = await fs.stat(p).catch(() => null);
  if (!stat?.isFile()) return null;
  const hash = createHash('sha256');
  const handle = await fs.open(p, 'r');
  try {
    const buf = Buffer.alloc(Math.min(EDGE, stat.size));
    await handle.read(buf, 0, buf.length, 0);
    hash.update(buf);
    if (stat.size > EDGE) {
      const tail = Buffer.alloc(Math.min(EDGE, stat.size - EDGE));
      await handle.read(tail, 0, tail.length, stat.size - tail.length);
      hash.update(tail);
    }
  } finally {
    await handle.close();
  }
  return { path: path.resolve(p), size: stat.size, mtimeMs: stat.mtimeMs, edges: hash.digest('hex') };
}

/** The entry's name for a model file opened on `provider` with `options`, and the files it was made from. */
async function keyAndSource(modelPath: string, provider: string, options: ort.InferenceSession.SessionOptions): Promise<{ key: string; source: CacheSource }> {
  const dir = path.dirname(modelPath);
  const base = path.basename(modelPath);
  const files = await Promise.all([modelPath, path.join(dir, `${base}_data`), path.join(dir, `${base}.data`), path.join(dir, 'weights.pb')].map(fileStamp));
  const { executionProviders, ...rest } = options;
  const identity = {
    ort: ortVersion(),
    provider,
    executionProviders,
    options: rest,
    cpu: `${os.arch()} ${os.cpus()[0]?.model ?? ''}`,
    files,
  };
  const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
  const present = files.filter((f) => f !== null).map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs }));
  return { key, source: { ort: identity.ort, files: present } };
}

/** The entry's name for a model file opened on `provider` with `options`. */
export async function graphCacheKey(modelPath: string, provider: string, options: ort.InferenceSession.SessionOptions): Promise<string> {
  return (await keyAndSource(modelPath, provider, options)).key;
}

export interface CachePlan {
  /** The cached optimised graph to open with optimisation off, when there is one. */
  cached: string | null;
  /** Options for creating the session. */
  options: ort.InferenceSession.SessionOptions;
  /** After a successful creation: moves a freshly written entry into place (no-op for a cached one). */
  commit(): Promise<void>;
  /** After a failed creation: drops a broken cached entry or the half-written one. */
  discard(): Promise<void>;
}

/**
 * How to open `modelPath` with the cache in `cacheDir`: from the cached graph (marked used), or writing it; after a
 * write the cache is pruned to `maxBytes` (graph-cache-prune.ts) when given.
 */
export async function planGraphCache(
  cacheDir: string,
  modelPath: string,
  provider: string,
  options: ort.InferenceSession.SessionOptions,
  maxBytes?: number,
): Promise<CachePlan> {
  const { key, source } = await keyAndSource(modelPath, provider, options);
  const entry = path.join(cacheDir, key);
  const cached = path.join(entry, CACHED_MODEL);
  if (
    await fs.stat(cached).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    await touchEntry(entry);
    return {
      cached,
      options: { ...options, graphOptimizationLevel: 'disabled' },
      commit: async () => {},
      discard: () => fs.rm(entry, { recursive: true, force: true }),
    };
  }
  const temp = path.join(cacheDir, `${key}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(temp, { recursive: true });
  const extra = (options.extra ?? {}) as { session?: Record<string, string> };
  return {
    cached: null,
    options: {
      ...options,
      // onnxruntime warns, once per graph it saves, that an NCHWc-optimised graph is specific to this CPU: the key
      // holds the CPU model for that reason. Warnings off for this creation only; errors still print.
      logSeverityLevel: 3,
      optimizedModelFilePath: path.join(temp, CACHED_MODEL),
      extra: {
        ...extra,
        session: {
          ...extra.session,
          // Relative to the optimised model's folder; initializers from 1 KiB up go there.
          optimized_model_external_initializers_file_name: CACHED_DATA,
          optimized_model_external_initializers_min_size_in_bytes: '1024',
        },
      },
    },
    commit: async () => {
      const written = await fs.stat(path.join(temp, CACHED_MODEL)).then(
        (s) => s.isFile(),
        () => false,
      );
      if (written) {
        await fs.writeFile(path.join(temp, SOURCE_FILE), JSON.stringify(source)).catch(() => undefined);
        // Another process may have put the entry in place first: keep theirs.
        await fs.rename(temp, entry).catch(() => undefined);
      }
      await fs.rm(temp, { recursive: true, force: true });
      if (written && maxBytes !== undefined) await pruneGraphCache(cacheDir, maxBytes).catch(() => undefined);
    },
    discard: () => fs.rm(temp, { recursive: true, force: true }),
  };
}
