/** MODEL_MEMORY_BUDGET: units, errors, and the defaults on CPU and GPU. */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CPU_SHARE, GPU_SHARE, memoryBudget, parseByteSize } from '../../src/runtime/memory-budget.js';
import { loadConfig } from '../../src/config.js';

describe('MODEL_MEMORY_BUDGET', () => {
  it('takes bytes, or a number with a binary or decimal unit', () => {
    expect(parseByteSize('123456')).toBe(123456);
    expect(parseByteSize('12GiB')).toBe(12 * 2 ** 30);
    expect(parseByteSize('12 gb')).toBe(12e9);
    expect(parseByteSize('1.5MiB')).toBe(1.5 * 2 ** 20);
    expect(parseByteSize('800M')).toBe(800e6);
    for (const bad of ['', 'lots', '12 parsecs', '-5GB', '0']) expect(() => parseByteSize(bad)).toThrow(/MODEL_MEMORY_BUDGET must be/);
  });

  it('defaults to a share of RAM on CPU and of the GPU memory on a GPU provider; a GPU without nvidia-smi needs the setting', () => {
    expect(memoryBudget(undefined, 'cpu', 0)).toEqual({ bytes: Math.floor(os.totalmem() * CPU_SHARE), source: 'ram' });
    expect(memoryBudget('', 'cuda', 1, (id) => (id === 1 ? 24 * 2 ** 30 : null))).toEqual({ bytes: Math.floor(24 * 2 ** 30 * GPU_SHARE), source: 'gpu' });
    expect(() => memoryBudget(undefined, 'cuda', 0, () => null)).toThrow(/MODEL_MEMORY_BUDGET is required with EXECUTION_PROVIDER=cuda/);
    expect(memoryBudget('10GiB', 'cuda', 0, () => null)).toEqual({ bytes: 10 * 2 ** 30, source: 'MODEL_MEMORY_BUDGET' });
  });

  it('is part of the config, with PRELOAD, the graph cache folder and its cap (PRELOAD_CONTROLNETS still read)', () => {
    const config = loadConfig({ MODEL_MEMORY_BUDGET: '2GiB', DATA_DIR: '/srv/cn' });
    expect(config.memoryBudget).toEqual({ bytes: 2 * 2 ** 30, source: 'MODEL_MEMORY_BUDGET' });
    expect(config.preload).toBe('default');
    expect(config.graphCacheDir).toBe('/srv/cn/ort-cache');
    expect(loadConfig({ GRAPH_CACHE_DIR: 'off' }).graphCacheDir).toBeNull();
    expect(config.graphCacheMaxBytes).toBe(20 * 2 ** 30);
    expect(loadConfig({ GRAPH_CACHE_MAX_BYTES: '5GiB' }).graphCacheMaxBytes).toBe(5 * 2 ** 30);
    expect(() => loadConfig({ GRAPH_CACHE_MAX_BYTES: 'big' })).toThrow(/GRAPH_CACHE_MAX_BYTES must be a byte count/);
    expect(loadConfig({ PRELOAD: 'tiny-sd15, canny' }).preload).toEqual({ names: ['tiny-sd15', 'canny'] });
    expect(loadConfig({ PRELOAD: 'none', PRELOAD_CONTROLNETS: 'all' }).preload).toBe('none');
    expect(loadConfig({ PRELOAD_CONTROLNETS: 'all' }).preload).toBe('default');
    expect(loadConfig({ PRELOAD_CONTROLNETS: 'none' }).preload).toEqual({ names: [] });
    expect(loadConfig({ PRELOAD_CONTROLNETS: 'canny,depth' }).preload).toEqual({ names: ['canny', 'depth'] });
    expect(() => loadConfig({ PRELOAD: '../x' })).toThrow(/PRELOAD takes default, none or/);
    expect(() => loadConfig({ MODEL_MEMORY_BUDGET: 'much' })).toThrow(/MODEL_MEMORY_BUDGET must be a byte count/);
  });
});
