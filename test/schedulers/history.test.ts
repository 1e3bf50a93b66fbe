import { expect, it } from 'vitest';
import { History } from '../../src/schedulers/history.js';

it('keeps the newest entries, drops the oldest and reuses buffers', () => {
  const h = new History(2);
  const a = h.push(3).fill(1);
  const b = h.push(3).fill(2);
  expect([h.length, h.at(0), h.at(1)]).toEqual([2, b, a]);
  const c = h.push(3).fill(3);
  expect(c).toBe(a); // the dropped oldest buffer is the new newest
  expect([h.at(0)[0], h.at(1)[0]]).toEqual([3, 2]);
  expect(() => h.at(2)).toThrow(RangeError);
});

it('after clear, refills from its pool without allocating; a new size gets new buffers', () => {
  const h = new History(2);
  const first = [h.push(4), h.push(4)];
  h.clear();
  expect(h.length).toBe(0);
  const again = [h.push(4), h.push(4)];
  expect(new Set([...first, ...again]).size).toBe(2);
  h.clear();
  expect(h.push(8)).toHaveLength(8);
});
