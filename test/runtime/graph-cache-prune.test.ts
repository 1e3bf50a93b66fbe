/**
 * Pruning the optimised-graph cache on real entries (written by openSession from copies of a tiny model): entries of
 * changed or deleted model files go, a crashed writer's old temporary folder goes, the least recently used entries
 * go past GRAPH_CACHE_MAX_BYTES (a cache hit counts as a use), and writing an entry prunes to the cap. onnxruntime's
 * per-entry warning no longer reaches stderr.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHED_MODEL } from '../../src/runtime/graph-cache.js';
import { pruneGraphCache, SOURCE_FILE, STALE_TEMP_MS } from '../../src/runtime/graph-cache-prune.js';
import { openSession, type SessionSettings } from '../../src/runtime/session.js';
import { MODELS_DIR } from '../helpers/models.js';

let dir: string;
let cacheDir: string;
const SOURCE = path.join(MODELS_DIR, 'tiny-sd15/vae_decoder/model.onnx');

/** A copy of the tiny VAE decoder in its own folder. */
function modelCopy(name: string): string {
  mkdirSync(path.join(dir, name));
  const file = path.join(dir, name, 'model.onnx');
  copyFileSync(SOURCE, file);
  return file;
}

const settings = (extra: Partial<SessionSettings> = {}): SessionSettings => ({
  providers: ['cpu'],
  deviceId: 0,
  threads: 1,
  graphCacheDir: cacheDir,
  ...extra,
});

/** Opens (and closes) `file` through the cache; returns the entry it used or wrote. */
async function cacheEntry(file: string, extra: Partial<SessionSettings> = {}): Promise<string> {
  const before = new Set(existsSync(cacheDir) ? readdirSync(cacheDir) : []);
  const opened = await openSession(file, settings(extra));
  await opened.session.release();
  return readdirSync(cacheDir).find((n) => !before.has(n)) ?? '';
}

const entries = () => readdirSync(cacheDir).sort();
const setAge = (p: string, msAgo: number) => utimesSync(p, new Date(Date.now() - msAgo), new Date(Date.now() - msAgo));

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cn-graph-prune-'));
  cacheDir = path.join(dir, 'ort-cache');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('graph cache pruning', () => {
  it('records the source files and drops entries whose model file changed or was deleted', async () => {
    const a = modelCopy('a');
    const b = modelCopy('b');
    const c = modelCopy('c');
    const [ea, eb, ec] = [await cacheEntry(a), await cacheEntry(b), await cacheEntry(c)];
    const source = JSON.parse(readFileSync(path.join(cacheDir, ea, SOURCE_FILE), 'utf8'));
    expect(source.files).toEqual([expect.objectContaining({ path: a })]);
    utimesSync(b, new Date(), new Date(Date.now() + 10_000));
    rmSync(c);
    const report = await pruneGraphCache(cacheDir, Number.MAX_SAFE_INTEGER);
    expect(report.removed.map((r) => [r.name, r.reason]).sort()).toEqual(
      [
        [eb, 'source changed'],
        [ec, 'source changed'],
      ].sort(),
    );
    expect(entries()).toEqual([ea]);
    expect(report.keptEntries).toBe(1);
  });

  it('removes a crashed writer’s old temporary folder, not a fresh one', async () => {
    await cacheEntry(modelCopy('a'));
    const key = 'ab'.repeat(16);
    const old = path.join(cacheDir, `${key}.tmp-1-00000000`);
    const fresh = path.join(cacheDir, `${key}.tmp-2-00000000`);
    mkdirSync(old);
    mkdirSync(fresh);
    setAge(old, STALE_TEMP_MS + 60_000);
    const report = await pruneGraphCache(cacheDir, Number.MAX_SAFE_INTEGER);
    expect(report.removed).toEqual([{ name: `${key}.tmp-1-00000000`, reason: 'unfinished', bytes: 0 }]);
    expect(existsSync(fresh)).toBe(true);
  });

  it('never touches a folder it did not write (GRAPH_CACHE_DIR pointed at a folder that holds other things)', async () => {
    await cacheEntry(modelCopy('a'));
    const foreign = ['models', 'abc.tmp-1-00000000', 'AB'.repeat(16)].map((n) => path.join(cacheDir, n));
    for (const f of foreign) {
      mkdirSync(f);
      copyFileSync(SOURCE, path.join(f, 'model.onnx'));
      setAge(f, STALE_TEMP_MS + 60_000);
    }
    const report = await pruneGraphCache(cacheDir, 0);
    expect(report.removed.map((r) => r.reason)).toEqual(['over GRAPH_CACHE_MAX_BYTES']);
    for (const f of foreign) expect(existsSync(path.join(f, 'model.onnx'))).toBe(true);
  });

  it('keeps the most recently used entries under the cap; a cache hit counts as a use', async () => {
    const a = modelCopy('a');
    const [ea, eb, ec] = [await cacheEntry(a), await cacheEntry(modelCopy('b')), await cacheEntry(modelCopy('c'))];
    setAge(path.join(cacheDir, ea), 30_000);
    setAge(path.join(cacheDir, eb), 20_000);
    setAge(path.join(cacheDir, ec), 10_000);
    // Opening a from the cache makes it the most recent.
    expect((await openSession(a, settings())).fromGraphCache).toBe(true);
    const one = (await pruneGraphCache(cacheDir, Number.MAX_SAFE_INTEGER)).keptBytes / 3;
    const report = await pruneGraphCache(cacheDir, Math.ceil(2 * one) + 10);
    expect(report.removed).toEqual([{ name: eb, reason: 'over GRAPH_CACHE_MAX_BYTES', bytes: expect.any(Number) }]);
    expect(entries()).toEqual([ea, ec].sort());
    // An entry from before source.json is judged by size and age only.
    rmSync(path.join(cacheDir, ec, SOURCE_FILE));
    expect((await pruneGraphCache(cacheDir, Number.MAX_SAFE_INTEGER)).removed).toEqual([]);
  });

  it('prunes to graphCacheMaxBytes after writing an entry', async () => {
    const first = await cacheEntry(modelCopy('a'));
    const bytes = (await pruneGraphCache(cacheDir, Number.MAX_SAFE_INTEGER)).keptBytes;
    setAge(path.join(cacheDir, first), 10_000);
    const second = await cacheEntry(modelCopy('b'), { graphCacheMaxBytes: Math.ceil(bytes * 1.5) });
    expect(entries()).toEqual([second]);
    expect(readdirSync(path.join(cacheDir, second))).toContain(CACHED_MODEL);
  });

  it('does not print onnxruntime’s warning for each optimised graph it writes', () => {
    const script = `
      const { openSession } = await import(${JSON.stringify(path.resolve('src/runtime/session.ts'))});
      const s = await openSession(${JSON.stringify(SOURCE)}, { providers: ['cpu'], deviceId: 0, threads: 1, graphCacheDir: ${JSON.stringify(cacheDir)} });
      console.log('fromGraphCache', s.fromGraphCache);`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toContain('fromGraphCache false');
    expect(run.stderr).not.toMatch(/Serializing optimized model/);
  });
});
