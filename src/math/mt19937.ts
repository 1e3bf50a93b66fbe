/**
 * The 32-bit Mersenne Twister (MT19937) exactly as torch's CPU generator runs it
 * (`at::mt19937`: Matsumoto & Nishimura's 2002 reference with `init_genrand` seeding).
 * The first draw after seeding regenerates the whole state, as in the reference.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  /** Index of the next state word to temper; N means "regenerate first". */
  private next = N;

  /** `seed` is reduced to its low 32 bits, as `init_genrand` does. */
  constructor(seed: number) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    const mt = this.state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      // 1812433253 * (prev ^ (prev >>> 30)) + i, modulo 2^32.
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.next = N;
  }

  /** The next 32-bit output, as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    if (this.next >= N) this.regenerate();
    let y = this.state[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Fills `out` with successive outputs (the same stream as repeated `nextUint32`). */
  fillUint32(out: Uint32Array): Uint32Array {
    const mt = this.state;
    const n = out.length;
    let i = 0;
    while (i < n) {
      if (this.next >= N) this.regenerate();
      const take = Math.min(n - i, N - this.next);
      let k = this.next;
      for (const end = i + take; i < end; i++) {
        let y = mt[k++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        out[i] = y;
      }
      this.next = k;
    }
    return out;
  }

  /** Regenerates all N words in place (the "twist"). */
  private regenerate(): void {
    const mt = this.state;
    let k = 0;
    for (; k < N - M; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
      mt[k] = mt[k + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; k < N - 1; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
      mt[k] = mt[k + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.next = 0;
  }
}
