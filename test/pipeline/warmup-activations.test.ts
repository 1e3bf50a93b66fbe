/**
 * Warm-up on real tiny sessions (CPU): it builds the fused step graph of the named ControlNets, so the first request
 * runs it without building; it measures each run session's memory growth over its first run and the registry counts
 * it on top of the weights (system_details shows both); a fused graph that does not fit beside the open sessions is
 * not built (a preload never closes a session).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/pipeline/generate.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { warmUp } from '../../src/pipeline/warmup.js';
import type { BaseModelFiles } from '../../src/domain/index.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { sessionBytes } from '../../src/runtime/session-bytes.js';
import { MODELS_DIR } from '../helpers/models.js';
import { spec, unit } from './helpers.js';

let model: BaseModelFiles;
let canny: string;
const open: ModelSessions[] = [];

function sessions(budget = Number.POSITIVE_INFINITY) {
  const lines: string[] = [];
  const s = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, memoryBudgetBytes: budget, fusedStep: 'auto' }, (l) => lines.push(l));
  open.push(s);
  return { s, lines };
}

beforeAll(async () => {
  const catalog = await scanModels(MODELS_DIR);
  model = catalog.models.get('tiny-sd15')!;
  canny = catalog.controlnets.get('tiny-sd15')!.get('canny')!;
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.release();
});

describe('warm-up', () => {
  it('builds the fused graph of the named ControlNets and measures activations, which the budget counts', async () => {
    const { s, lines } = sessions();
    await s.hold(() => s.preload(model, [canny]));
    const reports = await s.hold(() => warmUp(s, model, [canny], [{ width: 256, height: 256 }], (l) => lines.push(l), [canny]));
    expect(Object.keys(reports[0]!.runMs).sort()).toEqual(['controlnet', 'fused_step', 'unet', 'vae_decoder']);
    expect(lines.filter((l) => l.startsWith('warm-up: fused step graph of the UNet and 1 ControlNet(s) ready'))).toHaveLength(1);

    const loaded = await s.loaded();
    const byKind = (kind: string) => loaded.find((l) => l.kind === kind)!;
    const unet = byKind('unet');
    expect(unet.weights).toBe(await sessionBytes(model.unet));
    expect(unet.activations).toEqual({ bytes: expect.any(Number), measured: 'resident set growth over the first run at warm-up (256×256, batch 2)' });
    expect(unet.activations!.bytes).toBeGreaterThan(0);
    expect(unet.bytes).toBe(unet.weights! + unet.activations!.bytes);
    expect(byKind('vae_decoder').activations?.measured).toMatch(/batch 1\)$/);
    expect(byKind('fused_step').activations?.measured).toMatch(/^resident set growth over the first run at warm-up/);
    // Not run at warm-up: its weights alone count.
    expect(byKind('text_encoder').activations).toBeNull();
    expect(s.registry.usedBytes).toBe(loaded.reduce((sum, l) => sum + l.bytes!, 0));
    expect(s.registry.usedBytes).toBeGreaterThan(loaded.reduce((sum, l) => sum + l.weights!, 0));

    // The first request runs the graph warm-up built.
    const key = byKind('fused_step').key;
    const result = await s.hold(() => generate(spec(model, [unit('canny', canny)]), s));
    expect(result.stepGraph).toBe('fused');
    expect((await s.loaded()).filter((l) => l.kind === 'fused_step').map((l) => l.key)).toEqual([key]);
  });

  it('does not build the fused graph when it would close a session to fit (a preload never does)', async () => {
    const parts = [model.textEncoder, model.unet, model.vaeDecoder, model.vaeEncoder!, canny];
    const { s, lines } = sessions((await Promise.all(parts.map(sessionBytes))).reduce((a, b) => a + b, 0) + 1000);
    await s.hold(() => s.preload(model, [canny]));
    const before = (await s.loaded()).map((l) => l.key).sort();
    await s.hold(() => warmUp(s, model, [canny], [], (l) => lines.push(l), [canny]));
    expect(lines).toContain(
      'warm-up: the fused step graph was not built: it does not fit MODEL_MEMORY_BUDGET beside the open sessions (a preload never closes one)',
    );
    expect((await s.loaded()).map((l) => l.key).sort()).toEqual(before);
    expect(s.registry.evictions).toBe(0);
  });
});
