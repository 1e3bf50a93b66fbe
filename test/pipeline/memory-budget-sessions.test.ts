/**
 * ModelSessions under a small MODEL_MEMORY_BUDGET on the real tiny models: preloads stop at the budget, jobs that
 * need another ControlNet close the idle one (and succeed), a running job's sessions are never closed, and a job that
 * cannot fit is refused with the budget named.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { generate } from '../../src/pipeline/generate.js';
import { scanModels, type ModelCatalog } from '../../src/runtime/catalog.js';
import { sessionBytes } from '../../src/runtime/session-bytes.js';
import { SessionBudgetError } from '../../src/runtime/session-registry.js';
import type { SessionSettings } from '../../src/runtime/session.js';
import type { BaseModelFiles } from '../../src/domain/index.js';
import { MODELS_DIR } from '../helpers/models.js';
import { spec, unit } from './helpers.js';

let catalog: ModelCatalog;
let model: BaseModelFiles;
let canny: string;
let depth: string;
let baseBytes: number;
let controlnetBytes: number;
const open: ModelSessions[] = [];

function sessions(budget: number, extra: Partial<SessionSettings> = {}) {
  const lines: string[] = [];
  const s = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, memoryBudgetBytes: budget, ...extra }, (l) => lines.push(l));
  open.push(s);
  return { s, lines };
}

beforeAll(async () => {
  catalog = await scanModels(MODELS_DIR);
  model = catalog.models.get('tiny-sd15')!;
  canny = catalog.controlnets.get('tiny-sd15')!.get('canny')!;
  depth = catalog.controlnets.get('tiny-sd15')!.get('depth')!;
  const parts = [model.textEncoder, model.unet, model.vaeDecoder, model.vaeEncoder!];
  baseBytes = (await Promise.all(parts.map(sessionBytes))).reduce((a, b) => a + b, 0);
  controlnetBytes = await sessionBytes(canny);
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.release();
});

const kinds = async (s: ModelSessions) => (await s.loaded()).map((l) => (l.kind === 'controlnet' ? l.path : l.kind)).sort();
const fusedOpen = async (s: ModelSessions) => (await s.loaded()).filter((l) => l.kind === 'fused_step');

/** A canny job holding its sessions, stopped after its first step until `finish()`; `job` is its result. */
async function jobBetweenSteps(s: ModelSessions) {
  let finish!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const job = s.hold(async () => {
    const result = generate(spec(model, [unit('canny', canny)], { steps: 3 }), s, (p) => {
      if (p.step === 1) started();
    });
    await running;
    await new Promise<void>((r) => (finish = r));
    return result;
  });
  await running;
  return { job, finish: () => finish() };
}

describe('ModelSessions under MODEL_MEMORY_BUDGET', () => {
  it('counts each session by its weight files and reports the sizes', async () => {
    const { s } = sessions(Number.POSITIVE_INFINITY);
    await s.preload(model, [canny]);
    const loaded = await s.loaded();
    expect(loaded.reduce((sum, l) => sum + l.bytes!, 0)).toBe(baseBytes + controlnetBytes);
    expect(s.registry.usedBytes).toBe(baseBytes + controlnetBytes);
    expect(loaded.every((l) => l.held === false)).toBe(true);
  });

  it('preloads the ControlNets that fit, then jobs close idle sessions for the ControlNet they need, and all succeed', async () => {
    const { s, lines } = sessions(baseBytes + controlnetBytes + 1000);
    await s.preload(model, [canny, depth]);
    expect(await kinds(s)).toEqual([canny, 'text_encoder', 'unet', 'vae_decoder', 'vae_encoder'].sort());
    expect(lines.some((l) => l.includes('1 ControlNet(s) left closed') && l.includes(depth))).toBe(true);

    // Least recently used first: the idle ControlNet, or base-model parts the last job did not touch (txt2img leaves
    // the VAE encoder idle); they reopen when a job needs them again.
    let evictions = 0;
    for (const [name, file] of [
      ['depth', depth],
      ['canny', canny],
      ['depth', depth],
    ] as const) {
      const result = await s.hold(() => generate(spec(model, [unit(name, file)]), s));
      expect(result.images).toHaveLength(1);
      expect(await kinds(s)).toContain(file);
      expect(s.registry.usedBytes).toBeLessThanOrEqual(s.registry.budgetBytes);
      expect(s.registry.evictions).toBeGreaterThan(evictions);
      evictions = s.registry.evictions;
    }
    expect(lines.filter((l) => l.startsWith('closed ')).length).toBe(evictions);
    expect(lines.some((l) => l.startsWith('closed controlnet'))).toBe(true);
  });

  it("never closes a running job's sessions: what does not fit beside them is refused until the job ends", async () => {
    const { s } = sessions(baseBytes + controlnetBytes + 1000);
    // A job that has its sessions and is between steps.
    const { job, finish } = await jobBetweenSteps(s);
    const other = s.hold(() => s.controlnet(depth));
    await expect(other).rejects.toBeInstanceOf(SessionBudgetError);
    await expect(other).rejects.toThrow(/MODEL_MEMORY_BUDGET/);
    expect((await s.loaded()).every((l) => l.held)).toBe(true);
    finish();
    expect((await job).images).toHaveLength(1);
    await s.hold(() => s.controlnet(depth));
    expect(await kinds(s)).toContain(depth);
    expect(s.registry.usedBytes).toBeLessThanOrEqual(s.registry.budgetBytes);
  });

  it('refuses a job that cannot fit even alone, naming the budget', async () => {
    const two = sessions(baseBytes + controlnetBytes + 1000).s;
    const err = await two.hold(() => generate(spec(model, [unit('canny', canny), unit('depth', depth)]), two)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionBudgetError);
    expect((err as Error).message).toMatch(/^controlnet needs .* but MODEL_MEMORY_BUDGET/);
    // Smaller than every session of the model (the text encoder, the smallest, is ~0.5 MB): whichever of the
    // concurrent loads is admitted first is refused on its own (with 1 MB, a small one could open first and the
    // next be refused for lack of room beside it instead).
    const tiny = sessions(100_000).s;
    await expect(tiny.hold(() => generate(spec(model, [unit('canny', canny)]), tiny))).rejects.toThrow(
      /more than MODEL_MEMORY_BUDGET \(0\.00 GiB\) on its own/,
    );
  });

  it('counts fused step graphs like the other sessions: they evict and are evicted, a running job keeps its own, no job fails', async () => {
    const unetBytes = await sessionBytes(model.unet);
    // The base model, one ControlNet and one fused graph (UNet + ControlNet; on CPU it counts twice its files, for
    // onnxruntime's copy of weights given from memory) fit; a second fused graph does not.
    const budget = baseBytes + controlnetBytes + 2 * (unetBytes + controlnetBytes) + 1000;
    const { s, lines } = sessions(budget, { fusedStep: 'on', fusedStepCache: 2 });
    const run = (name: string, file: string) => s.hold(() => generate(spec(model, [unit(name, file)]), s));

    const first = await run('canny', canny);
    expect(first.stepGraph).toBe('fused');
    const [cannyFused] = await fusedOpen(s);
    expect(cannyFused).toMatchObject({ path: model.unet, controlnets: [canny], bytes: 2 * (unetBytes + controlnetBytes), held: false });
    expect(s.registry.usedBytes).toBeLessThanOrEqual(budget);

    // depth: its ControlNet and its fused graph need room; the idle canny graph is closed by the registry (the cache
    // has room for two), and the job runs fused.
    const second = await run('depth', depth);
    expect(second.stepGraph).toBe('fused');
    expect((await fusedOpen(s)).map((f) => f.controlnets)).toEqual([[depth]]);
    expect(lines.some((l) => l.startsWith('closed fused_step fused '))).toBe(true);
    expect(s.registry.usedBytes).toBeLessThanOrEqual(budget);

    // Back to canny: the separate sessions close the idle depth graph, or it runs separately; it never fails.
    const third = await run('canny', canny);
    expect(third.images).toHaveLength(1);
    expect(s.registry.usedBytes).toBeLessThanOrEqual(budget);

    // While a job runs, its fused graph is held: another session that needs its room is refused, the graph stays.
    const { job, finish } = await jobBetweenSteps(s);
    const held = await fusedOpen(s);
    expect(held).toEqual([expect.objectContaining({ controlnets: [canny], held: true })]);
    // The job holds its base-model parts, canny and the fused graph: depth's 1.5 MB would need the graph's room.
    await expect(s.hold(() => s.controlnet(depth))).rejects.toThrow(/MODEL_MEMORY_BUDGET/);
    expect((await fusedOpen(s)).map((f) => f.key)).toEqual(held.map((f) => f.key));
    finish();
    expect((await job).stepGraph).toBe('fused');
    // Once the job has ended, its sessions are idle again and make room (least recently used first).
    await s.hold(() => s.controlnet(depth));
    expect(await kinds(s)).toContain(depth);
    expect(s.registry.usedBytes).toBeLessThanOrEqual(budget);

    // clear_cache closes fused graphs with the rest.
    await s.release();
    expect(await fusedOpen(s)).toEqual([]);
    expect(s.registry.usedBytes).toBe(0);
  });

  it('runs the separate sessions when the fused graph does not fit beside what the job holds (FUSED_STEP=on says why)', async () => {
    const { s } = sessions(baseBytes + controlnetBytes + 1000, { fusedStep: 'on' });
    const result = await s.hold(() => generate(spec(model, [unit('canny', canny)]), s));
    expect(result.stepGraph).toBe('separate');
    expect(result.warnings.join('\n')).toMatch(
      /FUSED_STEP: the separate sessions ran, because the fused graph does not fit: fused_step needs .*MODEL_MEMORY_BUDGET/,
    );
    expect(await fusedOpen(s)).toEqual([]);
  });

  it('FUSED_STEP=auto builds a fused graph only where it fits beside the open sessions, closing none for it', async () => {
    const unetBytes = await sessionBytes(model.unet);
    // Room for the fused graph only if the idle depth ControlNet were closed.
    const { s } = sessions(baseBytes + 2 * controlnetBytes + unetBytes + 1000, { fusedStep: 'auto' });
    await s.preload(model, [canny, depth]);
    const result = await s.hold(() => generate(spec(model, [unit('canny', canny)]), s));
    expect(result.stepGraph).toBe('separate');
    expect(result.warnings).toEqual([]);
    expect(s.registry.evictions).toBe(0);
    expect(await kinds(s)).toContain(depth);
  });
});
