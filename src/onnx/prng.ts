/**
 * Deterministic weight randomness. Each parameter gets its own stream, seeded from the model seed and the
 * parameter's name, so a weight's values never depend on the order the graph was built in: the fp32 and fp16
 * variants of a model hold the same numbers, and editing one block leaves the others' weights unchanged.
 */

/** 32-bit FNV-1a of the name, folded with the seed and finished with a murmur3-style avalanche. */
export function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Fills `out` with uniform values in [-bound, bound) from a mulberry32 stream (a 32-bit state generator with
 * good statistical quality for its size; weights only need to be deterministic and well spread).
 */
export function fillUniform(out: Float32Array, seed: number, bound: number): void {
  let state = seed | 0;
  const scale = (2 * bound) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) * scale - bound;
  }
}
