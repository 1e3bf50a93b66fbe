/** Conversions of float annotator maps to 8-bit images, with the rounding controlnet_aux's numpy code has. */

/** (x - min) / (max - min) as 0..255, truncated like `(d * 255).clip(0, 255).astype(uint8)`; flat maps give 0. */
export function minMaxToBytes(map: Float32Array): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint8Array(map.length);
  const range = Math.fround(max - min);
  if (!(range > 0)) return out;
  for (let i = 0; i < map.length; i++) {
    // float32 steps as torch does them: subtract, divide, scale.
    const unit = Math.fround(Math.fround(map[i] - min) / range);
    out[i] = Math.min(255, Math.fround(unit * 255));
  }
  return out;
}

/** clip(x · 255, 0, 255) truncated to 8 bits (x in [0, 1]). */
export function unitToBytes(map: Float32Array, count = map.length, out = new Uint8Array(count)): Uint8Array {
  for (let i = 0; i < count; i++) {
    const v = Math.fround(map[i] * 255);
    out[i] = v > 255 ? 255 : v > 0 ? v : 0;
  }
  return out;
}

/** Planes (CHW, 3 of them from `first`) interleaved as RGB bytes, each value v → clip(v·255) truncated. */
export function planesToRgb(planes: Float32Array, width: number, height: number, first = 0): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    const base = (first + c) * n;
    for (let i = 0, o = c; i < n; i++, o += 3) {
      const v = Math.fround(planes[base + i] * 255);
      out[o] = v > 255 ? 255 : v > 0 ? v : 0;
    }
  }
  return out;
}
