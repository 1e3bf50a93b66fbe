/** The memory probes warm-up measures activations with: CPU on real allocations, the GPU one on a given reader. */
import { describe, expect, it } from 'vitest';
import { memoryProbe } from '../../src/runtime/activation-probe.js';

describe('memory probes', () => {
  it('CPU: the peak resident-set growth over a run, even when the memory is freed before it ends', async () => {
    const probe = memoryProbe('cpu', 0)!;
    expect(probe.what).toBe('resident set');
    const bytes = 64 * 2 ** 20;
    const growth = await probe.growth(async () => {
      // Touched pages count; the buffer is unreachable once the run ends.
      Buffer.alloc(bytes, 1);
    });
    expect(growth).toBeGreaterThanOrEqual(bytes * 0.9);
  });

  it('CUDA and TensorRT: the GPU memory after less before (never negative); null when it cannot be read; none on WebGPU', async () => {
    const readings = [1000, 1800, 500, 400];
    const probe = memoryProbe('cuda', 3, (id) => (id === 3 ? readings.shift()! : null))!;
    expect(probe.what).toBe('GPU memory');
    expect(await probe.growth(async () => {})).toBe(800);
    expect(await probe.growth(async () => {})).toBe(0);
    expect(await memoryProbe('tensorrt', 0, () => null)!.growth(async () => {})).toBeNull();
    expect(memoryProbe('webgpu', 0)).toBeNull();
  });
});
