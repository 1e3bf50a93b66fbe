import { describe, expect, it } from 'vitest';
import { SessionGate } from '../../src/worker/session-gate.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('SessionGate', () => {
  it('a release waits for the uses in flight, and uses that arrive meanwhile wait for the release', async () => {
    const gate = new SessionGate();
    const log: string[] = [];
    let finishJob!: () => void;
    const job = gate.use(() => new Promise<void>((r) => (finishJob = r)).then(() => void log.push('job done')));
    const release = gate.exclusive(async () => void log.push('released'));
    const later = gate.use(async () => void log.push('next job'));
    await tick();
    expect(log).toEqual([]);
    finishJob();
    await Promise.all([job, release, later]);
    expect(log).toEqual(['job done', 'released', 'next job']);
    expect(gate.active).toBe(0);
  });

  it('uses run side by side; two releases run one after the other; a failing use still lets the release through', async () => {
    const gate = new SessionGate();
    let inside = 0;
    let most = 0;
    const use = () =>
      gate.use(async () => {
        inside++;
        most = Math.max(most, inside);
        await tick();
        inside--;
      });
    await Promise.all([use(), use(), use()]);
    expect(most).toBe(3);
    await expect(
      gate.use(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const order: number[] = [];
    await Promise.all(
      [1, 2].map((n) =>
        gate.exclusive(async () => {
          order.push(n);
          await tick();
          order.push(n);
        }),
      ),
    );
    expect(order).toEqual([1, 1, 2, 2]);
  });
});
