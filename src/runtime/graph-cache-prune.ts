/**
 * Keeps the optimised-graph cache (graph-cache.ts) from growing without end: entries whose model files are gone or
 * changed (their key can never be asked for again), entries written by another onnxruntime version, half-written
 * folders left by a crash, and then the least recently used entries until the folder fits GRAPH_CACHE_MAX_BYTES.
 *
 * Each entry records its sources in `source.json` (onnxruntime's version and each model file's path, size and
 * mtime) and its folder's mtime is set whenever a session opens from it, so "least recently used" survives file
 * systems mounted noatime. Entries from before `source.json` existed are judged by size and age only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export const SOURCE_FILE = 'source.json';
/** A temporary folder older than this is a crashed writer's (a live one renames it within a session creation). */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** GRAPH_CACHE_MAX_BYTES's default: a few model sets (an SD 1.5 set with two ControlNets is about 8 GB in float32). */
export const DEFAULT_GRAPH_CACHE_MAX_BYTES = 20 * 2 ** 30;
/** The names of cache entries and of their writers' temporary folders (graph-cache.ts). */
const ENTRY_NAME = /^[0-9a-f]{32}(\.tmp-\d+-[0-9a-f]{8})?$/;

export interface SourceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface CacheSource {
  ort: string;
  files: SourceFile[];
}

export const ortVersion = (): string => ort.env.versions.node ?? ort.env.versions.common;

export interface PruneReport {
  /** Entry names removed, with why. */
  removed: { name: string; reason: 'source changed' | 'other onnxruntime' | 'unfinished' | 'over GRAPH_CACHE_MAX_BYTES'; bytes: number }[];
  /** Bytes the cache holds after pruning. */
  keptBytes: number;
  keptEntries: number;
}

async function folderBytes(dir: string): Promise<number> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((n) =>
      fs.stat(path.join(dir, n)).then(
        (s) => (s.isFile() ? s.size : 0),
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** Why an entry can never be used again, or null when it still can. */
async function staleness(dir: string): Promise<'source changed' | 'other onnxruntime' | null> {
  const text = await fs.readFile(path.join(dir, SOURCE_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  let source: CacheSource;
  try {
    source = JSON.parse(text) as CacheSource;
  } catch {
    return 'source changed';
  }
  if (source.ort !== ortVersion()) return 'other onnxruntime';
  for (const f of source.files ?? []) {
    const stat = await fs.stat(f.path).catch(() => null);
    if (!stat?.isFile() || stat.size !== f.size || stat.mtimeMs !== f.mtimeMs) return 'source changed';
  }
  return null;
}

/**
 * Prunes `cacheDir`: stale entries and old temporary folders always; then the least recently used entries (folder
 * mtime) while the whole is over `maxBytes`. An entry bigger than `maxBytes` on its own is not kept. Errors (a
 * read-only or vanished folder) leave what they cannot remove in place.
 */
export async function pruneGraphCache(cacheDir: string, maxBytes: number, now = Date.now()): Promise<PruneReport> {
  const report: PruneReport = { removed: [], keptBytes: 0, keptEntries: 0 };
  const names = await fs.readdir(cacheDir).catch(() => [] as string[]);
  const live: { name: string; bytes: number; mtimeMs: number }[] = [];
  const remove = async (name: string, reason: PruneReport['removed'][number]['reason'], bytes: number) => {
    // What cannot be removed (a read-only folder) stays, uncounted.
    await fs.rm(path.join(cacheDir, name), { recursive: true, force: true }).then(
      () => report.removed.push({ name, reason, bytes }),
      () => undefined,
    );
  };
  for (const name of names) {
    // Only what graph-cache.ts writes (a 32-hex key, or `<key>.tmp-<pid>-<hex>` while writing): a GRAPH_CACHE_DIR
    // pointed at a folder that holds anything else never loses it.
    if (!ENTRY_NAME.test(name)) continue;
    const dir = path.join(cacheDir, name);
    const stat = await fs.stat(dir).catch(() => null);
    if (!stat?.isDirectory()) continue;
    const bytes = await folderBytes(dir);
    if (name.includes('.tmp-')) {
      if (now - stat.mtimeMs > STALE_TEMP_MS) await remove(name, 'unfinished', bytes);
      continue;
    }
    const stale = await staleness(dir);
    if (stale) await remove(name, stale, bytes);
    else live.push({ name, bytes, mtimeMs: stat.mtimeMs });
  }
  live.sort((a, b) => b.mtimeMs - a.mtimeMs);
  let total = 0;
  for (const e of live) {
    if (total + e.bytes <= maxBytes) {
      total += e.bytes;
      report.keptEntries++;
    } else await remove(e.name, 'over GRAPH_CACHE_MAX_BYTES', e.bytes);
  }
  report.keptBytes = total;
  return report;
}

/** Marks an entry used now (its folder's mtime), for the least-recently-used order. */
export async function touchEntry(entryDir: string): Promise<void> {
  const now = new Date();
  await fs.utimes(entryDir, now, now).catch(() => undefined);
}
