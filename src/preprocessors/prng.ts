const TWO_POW_32 = 4294967296;

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small seeded generator of uniform numbers in [0, 1) (a Weyl sequence through mix32, as SplitMix).
 * Any safe integer seeds it; both 32-bit halves of the seed matter.
 */
export function seededRandom(seed: number): () => number {
  let state = (seed >>> 0) ^ mix32((Math.floor(seed / TWO_POW_32) >>> 0) + 0x6a09e667);
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state) / TWO_POW_32;
  };
}

/** A fresh seed for callers that gave none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * TWO_POW_32);
}
