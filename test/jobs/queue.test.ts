import { describe, expect, it } from 'vitest';
import { LocalQueue, QueueFullError } from '../../src/jobs/queue.js';

/** A handler whose jobs finish when the test says so, recording the order it started them in. */
function manual() {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const handler = (id: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(id);
      finishers.set(id, () => (id.startsWith('bad') ? reject(new Error('bad job')) : resolve()));
    });
  return { started, handler, finish: (id: string) => finishers.get(id)!() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('LocalQueue', () => {
  it('runs one job at a time per slot, in order, and refuses work past its bound', async () => {
    const m = manual();
    const queue = new LocalQueue(2, 1, m.handler);
    queue.enqueue('a');
    queue.enqueue('b');
    queue.enqueue('c');
    expect(() => queue.enqueue('d')).toThrow(QueueFullError);
    expect(queue.hasRoom()).toBe(false);
    expect([queue.active, queue.depth]).toEqual([1, 2]);
    expect([queue.position('a'), queue.position('b'), queue.position('c'), queue.position('x')]).toEqual([-1, 0, 1, null]);
    queue.enqueue('forced', true);
    expect(queue.depth).toBe(3);
    m.finish('a');
    await tick();
    expect(m.started).toEqual(['a', 'b']);
    m.finish('b');
    await tick();
    m.finish('c');
    await tick();
    m.finish('forced');
    await tick();
    expect(m.started).toEqual(['a', 'b', 'c', 'forced']);
    expect([queue.active, queue.depth]).toEqual([0, 0]);
  });

  it('keeps serving after a job fails', async () => {
    const m = manual();
    const queue = new LocalQueue(4, 1, m.handler);
    queue.enqueue('bad');
    queue.enqueue('good');
    m.finish('bad');
    await tick();
    expect(m.started).toEqual(['bad', 'good']);
  });

  it('uses every slot in parallel', async () => {
    const m = manual();
    const queue = new LocalQueue(1, 2, m.handler);
    queue.enqueue('a');
    queue.enqueue('b');
    queue.enqueue('c');
    expect([queue.active, queue.depth]).toEqual([2, 1]);
    m.finish('b');
    await tick();
    expect(m.started).toEqual(['a', 'b', 'c']);
  });

  it('clears waiting jobs, and pause() waits for the running ones', async () => {
    const m = manual();
    const queue = new LocalQueue(5, 1, m.handler);
    ['a', 'b', 'c'].forEach((id) => queue.enqueue(id));
    expect(queue.clear()).toEqual(['b', 'c']);
    let paused = false;
    const pausing = queue.pause().then(() => (paused = true));
    queue.enqueue('d');
    await tick();
    expect(paused).toBe(false);
    m.finish('a');
    await pausing;
    expect(m.started).toEqual(['a']);
    queue.resume();
    await tick();
    expect(m.started).toEqual(['a', 'd']);
  });

  it('reserve() takes a place synchronously: concurrent submissions cannot all see the same free place', () => {
    const m = manual();
    const queue = new LocalQueue(2, 1, m.handler);
    const places = [queue.reserve(), queue.reserve(), queue.reserve()];
    expect(() => queue.reserve()).toThrow(QueueFullError);
    places[2].cancel();
    places[2].cancel(); // twice is once
    const again = queue.reserve();
    expect(() => queue.reserve()).toThrow(QueueFullError);
    places[0].enqueue('a');
    places[1].enqueue('b');
    again.enqueue('c');
    again.enqueue('c2'); // a place holds one job
    expect([queue.active, queue.depth]).toEqual([1, 2]);
    expect(() => queue.reserve()).toThrow(QueueFullError);
    expect(queue.remove('c')).toBe(true);
    expect(queue.remove('a')).toBe(false); // running
    expect(queue.snapshot()).toEqual({ running: ['a'], waiting: ['b'] });
  });
});
