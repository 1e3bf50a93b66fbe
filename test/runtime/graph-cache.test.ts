/**
 * The optimised-graph cache on a real model: the first open writes the entry, the second opens from it with
 * optimisation off and computes the same outputs, a changed model file or provider misses, and a broken entry is
 * dropped without failing the session.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHED_DATA, CACHED_MODEL, graphCacheKey } from '../../src/runtime/graph-cache.js';
import { SOURCE_FILE } from '../../src/runtime/graph-cache-prune.js';
import { providerOptions, sessionOptionsFor } from '../../src/runtime/provider-options.js';
import { openSession } from '../../src/runtime/session.js';
import { MODELS_DIR } from '../helpers/models.js';

let dir: string;
let model: string;
let cacheDir: string;
const settings = () => ({ providers: ['cpu'], deviceId: 0, threads: 1, graphCacheDir: cacheDir });

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cn-graph-cache-'));
  model = path.join(dir, 'model.onnx');
  copyFileSync(path.join(MODELS_DIR, 'tiny-sd15/vae_decoder/model.onnx'), model);
  cacheDir = path.join(dir, 'ort-cache');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function decode(session: ort.InferenceSession): Promise<Float32Array> {
  const input = session.inputNames[0]!;
  const latent = new Float32Array(4 * 8 * 8).map((_, i) => Math.sin(i * 0.37));
  const out = await session.run({ [input]: new ort.Tensor('float32', latent, [1, 4, 8, 8]) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

/** The options openSession uses on CPU with `threads` threads. */
const cpuOptions = (threads: number) => ({ ...sessionOptionsFor('cpu', threads), executionProviders: providerOptions('cpu', 0) });
const entries = () => readdirSync(cacheDir).sort();

describe('optimised-graph cache', () => {
  it('writes the optimised graph on the first open and opens from it next time, with the same outputs', async () => {
    const first = await openSession(model, settings());
    expect(first.fromGraphCache).toBe(false);
    expect(entries()).toHaveLength(1);
    expect(readdirSync(path.join(cacheDir, entries()[0]!)).sort()).toEqual([CACHED_MODEL, CACHED_DATA, SOURCE_FILE].sort());
    const second = await openSession(model, settings());
    expect(second.fromGraphCache).toBe(true);
    const plain = await openSession(model, { ...settings(), graphCacheDir: null });
    expect(plain.fromGraphCache).toBeNull();
    const [a, b, c] = await Promise.all([decode(first.session), decode(second.session), decode(plain.session)]);
    expect(b).toEqual(c);
    expect(a).toEqual(c);
    await Promise.all([first, second, plain].map((s) => s.session.release()));
  });

  it('keys entries by the model file, the provider and the options', async () => {
    const key = await graphCacheKey(model, 'cpu', cpuOptions(1));
    expect(entries()).toEqual([key]);
    expect(await graphCacheKey(model, 'cuda', cpuOptions(1))).not.toBe(key);
    expect(await graphCacheKey(model, 'cpu', cpuOptions(2))).not.toBe(key);
    utimesSync(model, new Date(), new Date(Date.now() + 5000));
    expect(await graphCacheKey(model, 'cpu', cpuOptions(1))).not.toBe(key);
    const reopened = await openSession(model, settings());
    expect(reopened.fromGraphCache).toBe(false);
    expect(entries()).toHaveLength(2);
    await reopened.session.release();
  });

  it('drops a broken entry and opens the model from its file', async () => {
    const key = await graphCacheKey(model, 'cpu', cpuOptions(1));
    writeFileSync(path.join(cacheDir, key, CACHED_MODEL), 'not a model');
    const opened = await openSession(model, settings());
    expect(opened.fromGraphCache).toBe(false);
    expect(entries()).not.toContain(key);
    await opened.session.release();
    // The next open writes the entry again, the one after uses it.
    const rewritten = await openSession(model, settings());
    expect(rewritten.fromGraphCache).toBe(false);
    const again = await openSession(model, settings());
    expect(again.fromGraphCache).toBe(true);
    await Promise.all([rewritten, again].map((s) => s.session.release()));
  });
});
