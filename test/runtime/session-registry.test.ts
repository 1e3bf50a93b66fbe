/** The session registry on its own: LRU eviction under the budget, holds, and the refusals that name the budget. */
import { describe, expect, it } from 'vitest';
import { SessionBudgetError, SessionRegistry } from '../../src/runtime/session-registry.js';

function setup(budget: number) {
  const closed: string[] = [];
  const lines: string[] = [];
  const registry = new SessionRegistry(budget, (l) => lines.push(l));
  const admit = (key: string, bytes: number, kind = 'controlnet') => registry.admit({ key, kind, bytes, close: async () => void closed.push(key) });
  return { registry, closed, lines, admit };
}

describe('SessionRegistry', () => {
  it('closes the least recently used sessions, just enough to make room', async () => {
    const { registry, closed, lines, admit } = setup(100);
    await admit('a', 40);
    await admit('b', 40);
    registry.use('a'); // b is now the least recently used
    await admit('c', 40);
    expect(closed).toEqual(['b']);
    expect(
      registry
        .report()
        .map((r) => r.key)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(registry.usedBytes).toBe(80);
    expect(registry.evictions).toBe(1);
    expect(lines[0]).toMatch(/^closed controlnet b \(0\.00 GiB, least recently used\) to make room for controlnet c under MODEL_MEMORY_BUDGET/);
    await admit('d', 100);
    expect(closed).toEqual(['b', 'a', 'c']);
  });

  it('never closes a session held by running work; refuses what cannot fit beside the held ones', async () => {
    const { registry, closed, admit } = setup(100);
    let finish!: () => void;
    const job = registry.hold(async () => {
      await admit('unet', 50, 'unet');
      await admit('canny', 30);
      await new Promise<void>((r) => (finish = r));
    });
    await new Promise((r) => setImmediate(r));
    expect(registry.report().every((r) => r.held)).toBe(true);
    const refused = admit('depth', 30);
    await expect(refused).rejects.toBeInstanceOf(SessionBudgetError);
    await expect(refused).rejects.toThrow(
      /controlnet needs 0\.00 GiB but MODEL_MEMORY_BUDGET \(0\.00 GiB\) has 0\.00 GiB left beside the sessions running work holds/,
    );
    expect(closed).toEqual([]);
    finish();
    await job;
    expect(registry.report().some((r) => r.held)).toBe(false);
    await admit('depth', 30);
    expect(closed).toEqual(['unet']);
  });

  it('holds a session used again in a later scope, and lets go when that scope ends', async () => {
    const { registry, admit } = setup(100);
    await admit('a', 60);
    await registry.hold(async () => {
      registry.use('a');
      await expect(admit('b', 60)).rejects.toBeInstanceOf(SessionBudgetError);
    });
    await admit('b', 60);
    expect(registry.report().map((r) => r.key)).toEqual(['b']);
  });

  it('refuses a session bigger than the whole budget, and says so', async () => {
    const { admit } = setup(2 ** 30);
    await expect(admit('huge', 3 * 2 ** 30, 'unet')).rejects.toThrow('unet needs 3.00 GiB, more than MODEL_MEMORY_BUDGET (1.00 GiB) on its own');
  });

  it('answers whether a session fits without closing anything, and forgets what its owner closed', async () => {
    const { registry, admit } = setup(100);
    await admit('a', 60);
    expect(registry.fitsWithoutEviction(40)).toBe(true);
    expect(registry.fitsWithoutEviction(41)).toBe(false);
    registry.forget('a');
    expect(registry.usedBytes).toBe(0);
  });

  it('counts measured activations on top of the weights, evicts by both, and keeps a measurement across a reopen', async () => {
    const { registry, closed, admit } = setup(100);
    await admit('unet', 40, 'unet');
    await admit('canny', 20);
    const measured = 'resident set growth over the first run at warm-up (64×64, batch 2)';
    registry.recordActivations('unet', { bytes: 30, measured });
    expect(registry.usedBytes).toBe(90);
    expect(registry.report().find((r) => r.key === 'unet')).toMatchObject({ bytes: 70, weightBytes: 40, activations: { bytes: 30, measured } });
    expect(registry.report().find((r) => r.key === 'canny')).toMatchObject({ bytes: 20, weightBytes: 20, activations: null });
    // 20 more bytes of weights fit beside the weights (60) but not beside weights + activations (90): the LRU goes.
    await admit('depth', 20);
    expect(closed).toEqual(['unet']);
    expect(registry.usedBytes).toBe(40);
    // Reopened, the UNet counts its measurement again: 70 beside 40 needs the least recently used ControlNet closed.
    await admit('unet', 40, 'unet');
    expect(closed).toEqual(['unet', 'canny']);
    expect(registry.usedBytes).toBe(90);
    // A session whose weights and activations together exceed the budget is refused, naming what it needs.
    registry.recordActivations('big', { bytes: 80, measured });
    await expect(admit('big', 30)).rejects.toThrow(/controlnet needs .*more than MODEL_MEMORY_BUDGET/);
  });
});
