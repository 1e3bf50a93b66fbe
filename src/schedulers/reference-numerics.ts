/**
 * Replicas of the numpy / torch routines diffusers builds its schedules with, down to the
 * rounding: the schedules (timesteps, sigmas) must come out equal to diffusers', not merely close.
 * Values that diffusers keeps as float32 are float32-rounded Numbers here (`Math.fround`).
 */

const f32 = Math.fround;

/**
 * `torch.linspace(start, end, steps, dtype=float32)` as torch's CPU kernel computes it: a float32
 * step, points built from the near end (start for the first half, end for the second) with a fused
 * multiply-add, in 8-lane blocks (AVX2) whose lanes add `lane * step` to the block's first point,
 * and single points for the tail.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 0) return out;
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  // One rounding of start + step * idx: the product of a float32 and a small integer is exact in double.
  const point = (idx: number) => (idx < halfway ? f32(s + step * idx) : f32(e - step * (steps - idx - 1)));
  // cpu_serial_kernel_vec: two 8-lane vectors per iteration while 16 points remain, then scalars.
  const lanes = 8;
  let idx = 0;
  for (; idx <= steps - 2 * lanes; idx += lanes) {
    const base = point(idx);
    for (let l = 0; l < lanes; l++) out[idx + l] = f32(base + step * l);
    idx += lanes;
    const base2 = point(idx);
    for (let l = 0; l < lanes; l++) out[idx + l] = f32(base2 + step * l);
  }
  for (; idx < steps; idx++) out[idx] = point(idx);
  return out;
}

/** `np.linspace(start, stop, num)` in float64 (endpoint included). */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * `np.arange(start, stop, step)` for a float step: numpy fills `start + i * delta` with
 * `delta = (start + step) - start`, and takes ceil((stop - start) / step) points.
 */
export function numpyArange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length > 0) out[0] = start;
  if (length > 1) out[1] = start + step;
  const delta = out.length > 1 ? out[1] - out[0] : step;
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** `np.round`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends halves up; step back where that lands on an odd integer.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `np.interp(x, arange(len(fp)), fp)`: linear interpolation on integer abscissae. */
export function interpAtIndex(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}
