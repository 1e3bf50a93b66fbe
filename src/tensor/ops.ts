/**
 * The few elementwise kernels the denoising loop needs. All write into caller-provided arrays so the
 * loop allocates its buffers once per job, not once per step.
 */

/** out = [src, src, ...] (`times` copies along the batch axis). */
export function repeatBatch<T extends Float32Array | Uint16Array>(src: T, times: number, out?: T): T {
  const n = src.length;
  const dst = out ?? new (src.constructor as new (len: number) => T)(n * times);
  for (let k = 0; k < times; k++) dst.set(src, k * n);
  return dst;
}

/** Classifier-free guidance: out = uncond + g · (cond − uncond), where pred = [uncond; cond]. */
export function guide(pred: Float32Array, guidanceScale: number, out: Float32Array): Float32Array {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const u = pred[i];
    out[i] = u + guidanceScale * (pred[n + i] - u);
  }
  return out;
}

/** out = s · src. */
export function scaleInto(out: Float32Array, src: Float32Array, s: number, offset = 0): void {
  const n = src.length;
  for (let i = 0; i < n; i++) out[offset + i] = s * src[i];
}

/** out += s · src. */
export function addScaledInto(out: Float32Array, src: Float32Array, s: number, offset = 0): void {
  const n = src.length;
  for (let i = 0; i < n; i++) out[offset + i] += s * src[i];
}

/** Inpaint blend for 4-channel UNets: latents = (1 − m) · known + m · latents, m per latent pixel. */
export function blendMasked(latents: Float32Array, known: Float32Array, mask: Float32Array, channels: number): void {
  const plane = mask.length;
  const perSample = plane * channels;
  for (let base = 0; base < latents.length; base += perSample) {
    for (let c = 0; c < channels; c++) {
      const o = base + c * plane;
      for (let p = 0; p < plane; p++) {
        const m = mask[p];
        latents[o + p] = (1 - m) * known[o + p] + m * latents[o + p];
      }
    }
  }
}
