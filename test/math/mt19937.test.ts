import { describe, expect, it } from 'vitest';
import { Mt19937 } from '../../src/math/mt19937.js';

describe('Mt19937', () => {
  it('reproduces the reference outputs for the default seed 5489', () => {
    const mt = new Mt19937(5489);
    // Matsumoto & Nishimura's mt19937ar output; the 10000th value is the one C++ [rand.predef] requires.
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
    for (let i = 4; i < 10000; i++) mt.nextUint32();
    expect(mt.nextUint32()).toBe(4123659995);
  });

  it('keeps only the low 32 bits of the seed, as init_genrand does', () => {
    const a = new Mt19937(7);
    const b = new Mt19937(2 ** 32 + 7);
    for (let i = 0; i < 10; i++) expect(b.nextUint32()).toBe(a.nextUint32());
  });

  it('fillUint32 continues the same stream across state regenerations', () => {
    const single = new Mt19937(42);
    const bulk = new Mt19937(42);
    const expected = Array.from({ length: 2000 }, () => single.nextUint32());
    const got: number[] = [bulk.nextUint32()];
    got.push(...bulk.fillUint32(new Uint32Array(700)));
    got.push(bulk.nextUint32());
    got.push(...bulk.fillUint32(new Uint32Array(2000 - 702)));
    expect(got).toEqual(expected);
  });

  it('reseed restarts the stream', () => {
    const mt = new Mt19937(1);
    const first = mt.nextUint32();
    mt.nextUint32();
    mt.reseed(1);
    expect(mt.nextUint32()).toBe(first);
  });
});
