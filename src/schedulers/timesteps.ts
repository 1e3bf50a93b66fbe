/**
 * The timestep spacings of diffusers (Lin et al. 2023, table 2): `leading`, `linspace`, `trailing`.
 * Every function returns the descending timesteps as float64 numbers; callers round or
 * float32-round them as the scheduler class's dtype requires.
 */
import { SchedulerError } from './errors.js';
import { numpyArange, numpyLinspace, roundHalfEven } from './reference-numerics.js';

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'linspace', 'trailing'];

export interface SpacingParams {
  spacing: string;
  numTrainTimesteps: number;
  steps: number;
  stepsOffset: number;
  /** Round linspace points to integers (schedulers with int64 timesteps). */
  roundLinspace: boolean;
}

/** `num` timesteps, as DDIM, Euler, Heun, LMS, KDPM2 ... space them. */
export function spacedTimesteps(p: SpacingParams): Float64Array {
  const { numTrainTimesteps: T, steps: n } = p;
  switch (p.spacing) {
    case 'linspace': {
      const points = numpyLinspace(0, T - 1, n).reverse();
      return p.roundLinspace ? points.map(roundHalfEven) : points;
    }
    case 'leading': {
      const ratio = Math.floor(T / n);
      return Float64Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + p.stepsOffset);
    }
    case 'trailing':
      return trailing(T, T, n);
    default:
      throw unknownSpacing(p.spacing);
  }
}

/**
 * The spacing of the multistep solvers (DPM-Solver, UniPC, DEIS): `num + 1` points with the last
 * (timestep 0) dropped. `lastTimestep` is where the schedule starts (below T when λ is clipped).
 */
export function spacedTimestepsDroppingZero(p: SpacingParams, lastTimestep = p.numTrainTimesteps): Float64Array {
  const { numTrainTimesteps: T, steps: n } = p;
  switch (p.spacing) {
    case 'linspace':
      return numpyLinspace(0, lastTimestep - 1, n + 1)
        .reverse()
        .subarray(0, n)
        .map(roundHalfEven);
    case 'leading': {
      const ratio = Math.floor(lastTimestep / (n + 1));
      return Float64Array.from({ length: n }, (_, i) => (n - i) * ratio + p.stepsOffset);
    }
    case 'trailing':
      return trailing(lastTimestep, T, n);
    default:
      throw unknownSpacing(p.spacing);
  }
}

/**
 * `round(arange(start, 0, -T / n)) - 1`. numpy's float arange yields one extra point (≈0, hence
 * timestep -1) for a few `n` (61 of 1000, ...); that point is dropped: it is not a timestep.
 */
function trailing(start: number, T: number, n: number): Float64Array {
  const points = numpyArange(start, 0, -(T / n));
  return points.subarray(0, n).map((t) => roundHalfEven(t) - 1);
}

function unknownSpacing(spacing: string): SchedulerError {
  return new SchedulerError(`timestep_spacing "${spacing}" is not supported (one of: ${TIMESTEP_SPACINGS.join(', ')})`);
}
