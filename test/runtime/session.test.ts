/** Provider choice and fallback: what runs, and why the providers before it did not. */
import ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { providerOptions, sessionOptionsFor } from '../../src/runtime/provider-options.js';
import { openSession, providerOrder, resetProviderAvailability } from '../../src/runtime/session.js';
import { MODELS_DIR } from '../helpers/models.js';

const VAE = `${MODELS_DIR}/tiny-sd15/vae_decoder/model.onnx`;
const settings = (providers: string[]) => ({ providers, deviceId: 0, threads: 1 });

afterEach(() => resetProviderAvailability());

describe('providerOrder', () => {
  it('puts CPU last, backs TensorRT with CUDA, drops repeats', () => {
    expect(providerOrder(['cuda'])).toEqual(['cuda', 'cpu']);
    expect(providerOrder(['tensorrt', 'cpu'])).toEqual(['tensorrt', 'cuda', 'cpu']);
    expect(providerOrder(['webgpu', 'cuda', 'webgpu'])).toEqual(['webgpu', 'cuda', 'cpu']);
    expect(providerOrder(['cpu'])).toEqual(['cpu']);
  });
});

describe('provider options', () => {
  it('passes the device to CUDA and TensorRT, keeps CPU as the fallback for unsupported nodes', () => {
    expect(providerOptions('cuda', 1)).toEqual([{ name: 'cuda', deviceId: 1 }, 'cpu']);
    expect(providerOptions('tensorrt', 0)).toEqual([{ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 }, 'cpu']);
    expect(providerOptions('webgpu', 0)).toEqual([{ name: 'webgpu' }, 'cpu']);
  });

  it('sets device allocation for weights and no spinning on GPU providers only', () => {
    expect(sessionOptionsFor('cuda', 0).extra).toEqual({ session: { 'intra_op.allow_spinning': '0', use_device_allocator_for_initializers: '1' } });
    expect(sessionOptionsFor('webgpu', 0).extra).toEqual({ session: { 'intra_op.allow_spinning': '0' } });
    expect(sessionOptionsFor('cpu', 2)).toEqual({ graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
  });
});

describe('openSession', () => {
  it('falls back from a GPU provider this machine lacks to CPU and says why; later sessions skip it', async () => {
    for (const gpu of ['cuda', 'webgpu']) {
      const first = await openSession(VAE, settings([gpu]));
      if (first.provider === gpu) {
        // A machine with this GPU runtime: nothing to fall back from.
        expect(first.fallbacks).toEqual([]);
      } else {
        expect(first.provider).toBe('cpu');
        expect(first.fallbacks).toHaveLength(1);
        expect(first.fallbacks[0]).toMatchObject({ provider: gpu, reason: expect.stringMatching(/library|adapter/i) });
        const started = performance.now();
        const second = await openSession(VAE, settings([gpu]));
        expect(second.fallbacks).toEqual(first.fallbacks);
        expect(performance.now() - started).toBeLessThan(1000);
        await second.session.release();
      }
      await first.session.release();
    }
  });

  it('runs a session it opened on CPU', async () => {
    const { session, provider } = await openSession(VAE, settings(['cpu']));
    expect(provider).toBe('cpu');
    const out = await session.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * 2 * 2), [1, 4, 2, 2]) });
    expect(out.sample!.dims).toEqual([1, 3, 16, 16]);
    await session.release();
  });

  it('reports every provider it tried when none opens the model', async () => {
    await expect(openSession('/nonexistent/model.onnx', settings(['cpu']))).rejects.toThrow(
      /could not open \/nonexistent\/model.onnx on any execution provider \(cpu: /,
    );
  });
});
