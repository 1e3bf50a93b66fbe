/**
 * The graph-cache primer on real tiny model files: threads write the missing entries, after which every file opens
 * from the cache; it stays out of the way where it cannot help (small files, a GPU provider first, no cache).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingFromCache, primeGraphCache } from '../../src/runtime/graph-cache-primer.js';
import { openSession, type SessionSettings } from '../../src/runtime/session.js';
import { MODELS_DIR } from '../helpers/models.js';

let dir: string;
let files: string[];
const settings = (extra: Partial<SessionSettings> = {}): SessionSettings => ({
  providers: ['cpu'],
  deviceId: 0,
  threads: 1,
  graphCacheDir: path.join(dir, 'ort-cache'),
  ...extra,
});

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cn-graph-primer-'));
  files = ['vae_decoder', 'vae_encoder', 'text_encoder'].map((part) => {
    mkdirSync(path.join(dir, part));
    const file = path.join(dir, part, 'model.onnx');
    copyFileSync(path.join(MODELS_DIR, 'tiny-sd15', part, 'model.onnx'), file);
    return file;
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('graph cache primer', () => {
  it('does nothing where it cannot help: files below the threshold, a GPU provider first, no cache', async () => {
    expect((await primeGraphCache(files, settings())).primed).toEqual([]);
    expect((await primeGraphCache(files, settings({ providers: ['cuda', 'cpu'] }), 0)).primed).toEqual([]);
    expect((await primeGraphCache(files, settings({ graphCacheDir: null }), 0)).primed).toEqual([]);
    expect(await missingFromCache(files, settings())).toEqual(files);
  });

  it('writes the missing entries in parallel threads; every file then opens from the cache', async () => {
    const report = await primeGraphCache(files, settings(), 0);
    expect(report.failed).toEqual([]);
    expect(report.primed.sort()).toEqual([...files].sort());
    expect(await missingFromCache(files, settings())).toEqual([]);
    for (const file of files) {
      const opened = await openSession(file, settings());
      expect(opened.fromGraphCache).toBe(true);
      await opened.session.release();
    }
    // Nothing left to do.
    expect((await primeGraphCache(files, settings(), 0)).primed).toEqual([]);
  });
});
