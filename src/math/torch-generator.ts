/**
 * torch's CPU generator, `torch.Generator("cpu").manual_seed(seed)`, and the draws of
 * `torch.randn(shape, generator=g)` for contiguous float32 and float64 tensors, so a seed gives
 * the same initial latents as diffusers.
 *
 * What torch does (aten CPUGeneratorImpl, DistributionTemplates.h, DistributionsHelper.h):
 * - mt19937 seeded with the low 32 bits of the 64-bit seed;
 * - uniform floats from one 32-bit draw: (u & (2^24 - 1)) * 2^-24; doubles from two draws
 *   (high word first): (u64 & (2^53 - 1)) * 2^-53;
 * - numel >= 16: `normal_fill` — all uniforms first, then Box-Muller on blocks of 16
 *   (u1 = 1 - data[j], u2 = data[j + 8] for j < 8, cos into j and sin into j + 8); when numel is
 *   not a multiple of 16 the last 16 uniforms are redrawn and the last 16 outputs recomputed.
 *   float32 runs the AVX2 kernel (avx_mathfun.h, float32 math) on x86 builds and the scalar
 *   `normal_fill_16<float>` (glibc logf/cosf/sinf) elsewhere; float64 always the scalar one;
 * - numel < 16: scalar Box-Muller in double per element, r = sqrt(-2 log(1 - u2)), theta = 2 pi u1,
 *   returning r cos(theta) and caching r sin(theta) for the next scalar draw (the cache survives
 *   `normal_fill` calls, which neither use nor clear it).
 */

import type { NoiseSource } from '../schedulers/types.js';
import { avx2Log8, avx2Sincos8, makeLanes } from './avx2-mathfun-float32.js';
import { glibcLogf, glibcSincosf } from './glibc-float32.js';
import { Mt19937 } from './mt19937.js';

/** Which of torch's float32 `normal_fill` kernels to reproduce. */
export type CpuCapability = 'avx2' | 'default';

export interface TorchGeneratorOptions {
  /**
   * 'avx2' (default): what torch returns on x86-64 machines with AVX2, i.e. most servers.
   * 'default': torch's scalar kernel (`ATEN_CPU_CAPABILITY=default`, and non-x86 Linux machines).
   * They differ by at most about 2e-6 on float32 tensors of 16 or more elements.
   */
  capability?: CpuCapability;
}

const TWO_POW_64 = 1n << 64n;
const MIN_SEED = -(1n << 63n);
const TWO_PI = 2 * Math.PI;
const TWO_PI_F32 = Math.fround(2 * Math.PI);
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;

/**
 * torch's `manual_seed` argument as the unsigned 64-bit seed it stores: integers in
 * [-2^63, 2^64), negatives taken modulo 2^64 as torch does.
 */
export function toTorchSeed(seed: number | bigint): bigint {
  if (typeof seed === 'number' && !Number.isInteger(seed)) {
    throw new RangeError(`seed must be an integer, got ${seed}`);
  }
  const big = BigInt(seed);
  if (big < MIN_SEED || big >= TWO_POW_64) {
    throw new RangeError(`seed must lie in [-2^63, 2^64), got ${big}`);
  }
  return big < 0n ? big + TWO_POW_64 : big;
}

export class TorchGenerator implements NoiseSource {
  readonly capability: CpuCapability;
  private readonly engine: Mt19937;
  private seed: bigint;
  /** torch's `next_double_normal_sample`: the sine half of the last scalar Box-Muller pair. */
  private cachedNormal: number | null = null;
  /** Scratch for the Box-Muller blocks (no allocation in the hot loop). */
  private readonly sincos = new Float64Array(2);
  private readonly lanes = { u1: makeLanes(), theta: makeLanes(), sin: makeLanes(), cos: makeLanes() };

  constructor(seed: number | bigint, options: TorchGeneratorOptions = {}) {
    const capability = options.capability ?? 'avx2';
    if (capability !== 'avx2' && capability !== 'default') {
      throw new RangeError(`unknown CPU capability ${String(capability)}`);
    }
    this.capability = capability;
    this.seed = toTorchSeed(seed);
    this.engine = new Mt19937(Number(this.seed & 0xffffffffn));
  }

  /** The seed as torch's `initial_seed()` reports it (unsigned 64-bit). */
  get initialSeed(): bigint {
    return this.seed;
  }

  /** Restarts the stream, as `manual_seed` does (also dropping the cached normal). */
  manualSeed(seed: number | bigint): this {
    this.seed = toTorchSeed(seed);
    this.engine.reseed(Number(this.seed & 0xffffffffn));
    this.cachedNormal = null;
    return this;
  }

  /** `torch.randn(numel, generator=this, dtype=torch.float32)`; any shape with that many elements. */
  randn(numel: number): Float32Array {
    return this.randnInto(new Float32Array(checkNumel(numel)));
  }

  /** Fills `out` as `torch.randn(out.length)` would; returns `out`. */
  randnInto(out: Float32Array): Float32Array {
    const n = out.length;
    if (n < 16) {
      for (let i = 0; i < n; i++) out[i] = this.scalarNormal();
      return out;
    }
    const avx2 = this.capability === 'avx2';
    this.fillUniformFloat32(out, 0, n);
    for (let i = 0; i + 16 <= n; i += 16) {
      if (avx2) this.boxMuller16Avx2(out, i);
      else this.boxMuller16Float32(out, i);
    }
    if (n % 16 !== 0) {
      this.fillUniformFloat32(out, n - 16, n);
      if (avx2) this.boxMuller16Avx2(out, n - 16);
      else this.boxMuller16Float32(out, n - 16);
    }
    return out;
  }

  /** `torch.randn(numel, generator=this, dtype=torch.float64)`. */
  randnFloat64(numel: number): Float64Array {
    return this.randnFloat64Into(new Float64Array(checkNumel(numel)));
  }

  /** Fills `out` as `torch.randn(out.length, dtype=torch.float64)` would; returns `out`. */
  randnFloat64Into(out: Float64Array): Float64Array {
    const n = out.length;
    if (n < 16) {
      for (let i = 0; i < n; i++) out[i] = this.scalarNormal();
      return out;
    }
    this.fillUniformFloat64(out, 0, n);
    for (let i = 0; i + 16 <= n; i += 16) boxMuller16Float64(out, i);
    if (n % 16 !== 0) {
      this.fillUniformFloat64(out, n - 16, n);
      boxMuller16Float64(out, n - 16);
    }
    return out;
  }

  private fillUniformFloat32(out: Float32Array, start: number, end: number): void {
    const engine = this.engine;
    for (let i = start; i < end; i++) out[i] = (engine.nextUint32() & 0xffffff) * TWO_POW_M24;
  }

  private fillUniformFloat64(out: Float64Array, start: number, end: number): void {
    for (let i = start; i < end; i++) out[i] = this.uniformFloat64();
  }

  private uniformFloat64(): number {
    const hi = this.engine.nextUint32() & 0x1fffff; // 21 high bits of the 53
    const lo = this.engine.nextUint32();
    return (hi * 4294967296 + lo) * TWO_POW_M53;
  }

  /** `at::normal_distribution<double>(0, 1)`: one value, using and refilling the pair cache. */
  private scalarNormal(): number {
    const cached = this.cachedNormal;
    if (cached !== null) {
      this.cachedNormal = null;
      return cached;
    }
    const u1 = this.uniformFloat64();
    const u2 = this.uniformFloat64();
    // torch 1.13 takes log(1 - u2) (later versions log1p(-u2); 1 - u2 is exact, so they agree to an ulp).
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = TWO_PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** torch's `normal_fill_16_AVX2` (mean 0, std 1) on data[o .. o + 16), as 8-lane vectors. */
  private boxMuller16Avx2(data: Float32Array, o: number): void {
    const { u1, theta, sin, cos } = this.lanes;
    for (let j = 0; j < 8; j++) {
      u1[j] = 1 - data[o + j]; // exact: data is a multiple of 2^-24 in [0, 1)
      theta[j] = Math.fround(TWO_PI_F32 * data[o + j + 8]);
    }
    avx2Log8(u1, u1);
    avx2Sincos8(theta, sin, cos);
    for (let j = 0; j < 8; j++) {
      const radius = Math.fround(Math.sqrt(Math.fround(-2 * u1[j])));
      data[o + j] = radius * cos[j];
      data[o + j + 8] = radius * sin[j];
    }
  }

  /** torch's scalar `normal_fill_16<float>` (mean 0, std 1) on data[o .. o + 16). */
  private boxMuller16Float32(data: Float32Array, o: number): void {
    const sc = this.sincos;
    for (let j = o; j < o + 8; j++) {
      const u1 = 1 - data[j];
      const radius = Math.fround(Math.sqrt(Math.fround(-2 * glibcLogf(u1))));
      // theta is computed in double (2.0f * pi<double> * u2) and then stored as float.
      glibcSincosf(Math.fround(TWO_PI * data[j + 8]), sc);
      data[j] = radius * sc[1];
      data[j + 8] = radius * sc[0];
    }
  }
}

/** torch's scalar `normal_fill_16<double>` (mean 0, std 1) on data[o .. o + 16). */
function boxMuller16Float64(data: Float64Array, o: number): void {
  for (let j = o; j < o + 8; j++) {
    const radius = Math.sqrt(-2 * Math.log(1 - data[j]));
    const theta = TWO_PI * data[j + 8];
    data[j] = radius * Math.cos(theta);
    data[j + 8] = radius * Math.sin(theta);
  }
}

function checkNumel(numel: number): number {
  if (!Number.isSafeInteger(numel) || numel < 0) {
    throw new RangeError(`numel must be a non-negative integer, got ${numel}`);
  }
  return numel;
}
