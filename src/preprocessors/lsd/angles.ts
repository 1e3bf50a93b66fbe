const TWO_PI = 2 * Math.PI;
const THREE_HALVES_PI = 1.5 * Math.PI;

/** Whether a level-line angle lies within `tolerance` of `reference` (undefined angles never do). */
export function isAligned(angle: number, reference: number, tolerance: number, notDefined: number): boolean {
  if (angle === notDefined) return false;
  let d = reference - angle;
  if (d < 0) d = -d;
  if (d > THREE_HALVES_PI) {
    d -= TWO_PI;
    if (d < 0) d = -d;
  }
  return d <= tolerance;
}

/** a - b wrapped into (-π, π]. */
export function angleDiffSigned(a: number, b: number): number {
  let d = a - b;
  while (d <= -Math.PI) d += TWO_PI;
  while (d > Math.PI) d -= TWO_PI;
  return d;
}

/** |a - b| on the circle, in [0, π]. */
export function angleDiff(a: number, b: number): number {
  return Math.abs(angleDiffSigned(a, b));
}
