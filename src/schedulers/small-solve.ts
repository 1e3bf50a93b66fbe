/**
 * A float32 solver for the tiny (≤ 3×3) linear systems of UniPC, following LAPACK's sgesv:
 * LU with partial pivoting (the pivot column scaled by the pivot's reciprocal), then forward and
 * back substitution with divisions by the diagonal.
 */
const f32 = Math.fround;

/** Solves A·x = b for a row-major n×n `a`; returns x (float32 values). */
export function solveF32(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row) => row.map(f32));
  const x = b.map(f32);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (Math.abs(m[i][j]) > Math.abs(m[p][j])) p = i;
    if (p !== j) {
      [m[p], m[j]] = [m[j], m[p]];
      [perm[p], perm[j]] = [perm[j], perm[p]];
    }
    const inv = f32(1 / m[j][j]);
    for (let i = j + 1; i < n; i++) {
      m[i][j] = f32(m[i][j] * inv);
      for (let k = j + 1; k < n; k++) m[i][k] = f32(m[i][k] - f32(m[i][j] * m[j][k]));
    }
  }
  const y = perm.map((i) => x[i]);
  for (let i = 0; i < n; i++) for (let k = 0; k < i; k++) y[i] = f32(y[i] - f32(y[k] * m[i][k]));
  for (let i = n - 1; i >= 0; i--) {
    y[i] = f32(y[i] / m[i][i]);
    for (let k = 0; k < i; k++) y[k] = f32(y[k] - f32(y[i] * m[k][i]));
  }
  return y;
}
