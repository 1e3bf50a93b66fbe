import { describe, expect, it } from 'vitest';
import { JobQueue, QueueFullError, type JobRunner } from '../../src/jobs/queue.js';
import type { GenerationResult, GenerationSpec } from '../../src/pipeline/spec.js';

/** A runner whose jobs finish when the test says so, recording the order it ran them in. */
function manualRunner(log: string[]) {
  const finishers: (() => void)[] = [];
  const runner: JobRunner = {
    run: (spec) =>
      new Promise<GenerationResult>((resolve, reject) => {
        log.push(spec.id);
        finishers.push(() => (spec.id === 'bad' ? reject(new Error('bad job')) : resolve({ images: [], mode: 'txt2img' } as unknown as GenerationResult)));
      }),
  };
  return { runner, finishNext: () => finishers.shift()!() };
}

const spec = (id: string) => ({ id }) as GenerationSpec;
const tick = () => new Promise((r) => setImmediate(r));

describe('JobQueue', () => {
  it('runs one job at a time per runner, in order, and refuses work past its bound', async () => {
    const log: string[] = [];
    const { runner, finishNext } = manualRunner(log);
    const queue = new JobQueue([runner], 2);
    const a = queue.submit(spec('a'));
    const b = queue.submit(spec('b'));
    const c = queue.submit(spec('c'));
    await expect(queue.submit(spec('d'))).rejects.toBeInstanceOf(QueueFullError);
    expect([queue.running, queue.depth]).toEqual([1, 2]);
    expect(log).toEqual(['a']);
    finishNext();
    await a;
    await tick();
    expect(log).toEqual(['a', 'b']);
    finishNext();
    await b;
    await tick();
    finishNext();
    await c;
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);
    expect([queue.running, queue.depth]).toEqual([0, 0]);
  });

  it('keeps serving after a job fails', async () => {
    const log: string[] = [];
    const { runner, finishNext } = manualRunner(log);
    const queue = new JobQueue([runner], 4);
    const bad = queue.submit(spec('bad'));
    const good = queue.submit(spec('good'));
    finishNext();
    await expect(bad).rejects.toThrow('bad job');
    await tick();
    finishNext();
    await expect(good).resolves.toBeTruthy();
  });

  it('uses every runner in parallel', async () => {
    const log: string[] = [];
    const one = manualRunner(log);
    const two = manualRunner(log);
    const queue = new JobQueue([one.runner, two.runner], 1);
    const jobs = [queue.submit(spec('a')), queue.submit(spec('b')), queue.submit(spec('c'))];
    expect(queue.running).toBe(2);
    expect(queue.depth).toBe(1);
    one.finishNext();
    two.finishNext();
    await Promise.all(jobs.slice(0, 2));
    await tick();
    (log[2] === 'c' ? one : two).finishNext();
    await jobs[2];
  });
});
