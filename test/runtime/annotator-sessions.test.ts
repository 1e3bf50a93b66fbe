import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { depthGraph, lineartGraph } from '../../scripts/tiny-models/annotators/dense.js';
import { saveModel } from '../../src/onnx/model-file.js';
import { makeHint } from '../../src/preprocessors/registry.js';
import { createAnnotatorSessions, listAnnotators } from '../../src/runtime/annotator-sessions.js';

const dir = mkdtempSync(path.join(tmpdir(), 'annotators-'));
const settings = { providers: ['cpu'], deviceId: 0, threads: 1 };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createAnnotatorSessions', () => {
  it('opens <dir>/<name>/model.onnx once and caches it; absent files give null', async () => {
    saveModel(depthGraph(), path.join(dir, 'midas', 'model.onnx'));
    const sessions = createAnnotatorSessions(dir, settings);
    const a = await sessions.session('midas');
    expect(a).not.toBeNull();
    expect(a!.inputNames).toEqual(['pixel_values']);
    expect(await sessions.session('midas')).toBe(a);
    expect(await sessions.session('hed')).toBeNull();
    expect(await sessions.session('midas', 'other.onnx')).toBeNull();
    await sessions.release();
  });

  it('finds an annotator installed after the first miss', async () => {
    const sessions = createAnnotatorSessions(dir, settings);
    expect(await sessions.session('lineart')).toBeNull();
    saveModel(lineartGraph(), path.join(dir, 'lineart', 'model.onnx'));
    expect(await sessions.session('lineart')).not.toBeNull();
    await sessions.release();
  });

  it('rejects names that would leave the annotators folder', async () => {
    const sessions = createAnnotatorSessions(dir, settings);
    await expect(sessions.session('..', 'model.onnx')).rejects.toThrow(/invalid annotator path/);
    await expect(sessions.session('midas', '../midas/model.onnx')).rejects.toThrow(/invalid annotator path/);
  });

  it('feeds makeHint: a depth hint from the folder', async () => {
    const sessions = createAnnotatorSessions(dir, settings);
    const image = { data: new Uint8Array(64 * 64 * 3).map((_, i) => (Math.floor(i / 3) % 64) * 4), width: 64, height: 64, channels: 3 as const };
    const hint = await makeHint('depth', image, { width: 64, height: 64, detectResolution: 64, annotators: sessions });
    expect(hint.image.data[0]).toBe(0);
    expect(hint.image.data[63 * 3]).toBe(255);
    await sessions.release();
  });
});

describe('listAnnotators', () => {
  it('lists the folders that hold an ONNX file, sorted', async () => {
    mkdirSync(path.join(dir, 'empty'), { recursive: true });
    mkdirSync(path.join(dir, 'notes'), { recursive: true });
    writeFileSync(path.join(dir, 'notes', 'README.md'), 'x');
    expect(await listAnnotators(dir)).toEqual(['lineart', 'midas']);
    expect(await listAnnotators(path.join(dir, 'nowhere'))).toEqual([]);
  });
});
