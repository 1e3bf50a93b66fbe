/** The worker thread's warm-up and session report, as the HTTP side calls them. */
import { statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { scanModels } from '../../src/runtime/catalog.js';
import { InferenceWorker } from '../../src/worker/worker-client.js';
import { MODELS_DIR } from '../helpers/models.js';

const worker = new InferenceWorker({ providers: ['cpu'], deviceId: 0, threads: 1 });
afterAll(() => worker.close());

describe('InferenceWorker', () => {
  it('warms up a preloaded model and reports where each session runs and what it takes', async () => {
    const catalog = await scanModels(MODELS_DIR);
    const model = catalog.models.get('tiny-sd15')!;
    const controlnets = [catalog.controlnets.get('tiny-sd15')!.get('canny')!];
    expect(await worker.preload(model, controlnets)).toBeNull();
    const reports = await worker.warmUp(model, controlnets, [{ width: 64, height: 64 }]);
    expect(reports).toMatchObject([{ width: 64, height: 64, runMs: { controlnet: expect.any(Number), unet: expect.any(Number) } }]);
    const loaded = await worker.loaded();
    const unet = loaded.find((l) => l.kind === 'unet')!;
    // Its weights, plus what its first run at the warm-up size took (measured in the worker thread).
    expect(unet).toEqual({
      kind: 'unet',
      key: model.unet,
      path: model.unet,
      provider: 'cpu',
      fallbacks: [],
      bytes: statSync(model.unet).size + unet.activations!.bytes,
      weights: statSync(model.unet).size,
      activations: { bytes: expect.any(Number), measured: 'resident set growth over the first run at warm-up (64×64, batch 2)' },
      held: false,
    });
    expect(unet.activations!.bytes).toBeGreaterThan(0);
  });

  it('answers a warm-up it cannot do with the reason', async () => {
    const catalog = await scanModels(MODELS_DIR);
    const model = { ...catalog.models.get('tiny-sd15')!, unet: '/nonexistent/unet.onnx' };
    expect(await worker.warmUp(model, [], [{ width: 64, height: 64 }])).toMatch(/could not open \/nonexistent\/unet.onnx/);
  });
});
