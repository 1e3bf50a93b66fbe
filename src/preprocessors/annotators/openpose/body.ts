import { scipyGaussianFilter } from './gaussian-filter.js';
import { BODY_PARTS, LIMB_PAF, LIMBS } from './skeleton.js';

/** A heatmap peak: position in detect-image pixels, its (unblurred) score and its global id. */
export interface Peak {
  x: number;
  y: number;
  score: number;
  id: number;
}

/** A person: one peak (or null) per body part, with the assembly's total score and part count. */
export interface Body {
  keypoints: (Peak | null)[];
  score: number;
  parts: number;
}

const PEAK_THRESHOLD = 0.1;
const PAF_THRESHOLD = 0.05;
const PAF_SAMPLES = 10;

/**
 * controlnet_aux's peak finding: each part's heatmap blurred with σ = 3, pixels at least as large as
 * their four neighbours (zero outside) and above 0.1, in row-major order; ids run over all parts.
 */
export function findPeaks(heatmaps: Float32Array, w: number, h: number): Peak[][] {
  const n = w * h;
  const plane = new Float64Array(n);
  const blurred = new Float64Array(n);
  const all: Peak[][] = [];
  let id = 0;
  for (let part = 0; part < BODY_PARTS; part++) {
    const base = part * n;
    for (let i = 0; i < n; i++) plane[i] = heatmaps[base + i];
    scipyGaussianFilter(plane, w, h, 3, blurred.fill(0));
    const peaks: Peak[] = [];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const v = blurred[i];
        if (!(v > PEAK_THRESHOLD)) continue;
        if (v < (y > 0 ? blurred[i - w] : 0) || v < (y < h - 1 ? blurred[i + w] : 0)) continue;
        if (v < (x > 0 ? blurred[i - 1] : 0) || v < (x < w - 1 ? blurred[i + 1] : 0)) continue;
        peaks.push({ x, y, score: plane[i], id: id++ });
      }
    }
    all.push(peaks);
  }
  return all;
}

/** numpy's round (half to even). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Connection {
  idA: number;
  idB: number;
  score: number;
  i: number;
  j: number;
}

/**
 * Scores every pair of candidate ends of limb k by the PAF along the segment between them (10 samples,
 * at least 9 above 0.05, a penalty for limbs longer than half the image height) and keeps the best
 * pairs greedily, each end used once.
 */
function connectLimb(k: number, peaks: Peak[][], paf: PafSampler, h: number): Connection[] {
  const candA = peaks[LIMBS[k][0] - 1];
  const candB = peaks[LIMBS[k][1] - 1];
  const [pafX, pafY] = LIMB_PAF[k];
  const candidates: { i: number; j: number; prior: number }[] = [];
  for (let i = 0; i < candA.length; i++) {
    for (let j = 0; j < candB.length; j++) {
      const a = candA[i];
      const b = candB[j];
      let vx = b.x - a.x;
      let vy = b.y - a.y;
      const norm = Math.max(0.001, Math.sqrt(vx * vx + vy * vy));
      vx /= norm;
      vy /= norm;
      let sum = 0;
      let above = 0;
      for (let s = 0; s < PAF_SAMPLES; s++) {
        // np.linspace: start + s * step, with the last sample exactly at the end.
        const px = s === PAF_SAMPLES - 1 ? b.x : a.x + (s * (b.x - a.x)) / (PAF_SAMPLES - 1);
        const py = s === PAF_SAMPLES - 1 ? b.y : a.y + (s * (b.y - a.y)) / (PAF_SAMPLES - 1);
        const sx = roundHalfEven(px);
        const sy = roundHalfEven(py);
        const score = paf(pafX, sx, sy) * vx + paf(pafY, sx, sy) * vy;
        sum += score;
        if (score > PAF_THRESHOLD) above++;
      }
      const prior = sum / PAF_SAMPLES + Math.min((0.5 * h) / norm - 1, 0);
      if (above > 0.8 * PAF_SAMPLES && prior > 0) candidates.push({ i, j, prior });
    }
  }
  candidates.sort((p, q) => q.prior - p.prior);
  const connections: Connection[] = [];
  for (const c of candidates) {
    if (connections.some((d) => d.i === c.i || d.j === c.j)) continue;
    connections.push({ idA: candA[c.i].id, idB: candB[c.j].id, score: c.prior, i: c.i, j: c.j });
    if (connections.length >= Math.min(candA.length, candB.length)) break;
  }
  return connections;
}

/** A PAF value: channel c (of 38) at detect pixel (x, y). */
export type PafSampler = (c: number, x: number, y: number) => number;

/** One person in the making: candidate id per part (-1 = none), total score, part count. */
interface Row {
  ids: Float64Array;
  score: number;
  parts: number;
}

/**
 * controlnet_aux's (CMU's) greedy assembly of limbs into people, then people with fewer than 4 parts or
 * a mean score under 0.4 dropped. `h` is the detect image's height (for the limb-length prior).
 */
export function assembleBodies(peaks: Peak[][], paf: PafSampler, h: number): Body[] {
  const byId: Peak[] = peaks.flat();
  let rows: Row[] = [];
  for (let k = 0; k < LIMBS.length; k++) {
    if (peaks[LIMBS[k][0] - 1].length === 0 || peaks[LIMBS[k][1] - 1].length === 0) continue;
    const indexA = LIMBS[k][0] - 1;
    const indexB = LIMBS[k][1] - 1;
    for (const c of connectLimb(k, peaks, paf, h)) {
      const found: number[] = [];
      for (let r = 0; r < rows.length && found.length < 2; r++) {
        if (rows[r].ids[indexA] === c.idA || rows[r].ids[indexB] === c.idB) found.push(r);
      }
      if (found.length === 1) {
        const row = rows[found[0]];
        if (row.ids[indexB] !== c.idB) {
          row.ids[indexB] = c.idB;
          row.parts += 1;
          row.score += byId[c.idB].score + c.score;
        }
      } else if (found.length === 2) {
        const [r1, r2] = found;
        const a = rows[r1];
        const b = rows[r2];
        let overlap = false;
        for (let p = 0; p < BODY_PARTS; p++) if (a.ids[p] >= 0 && b.ids[p] >= 0) overlap = true;
        if (!overlap) {
          for (let p = 0; p < BODY_PARTS; p++) a.ids[p] += b.ids[p] + 1;
          a.parts += b.parts;
          a.score += b.score + c.score;
          rows.splice(r2, 1);
        } else {
          a.ids[indexB] = c.idB;
          a.parts += 1;
          a.score += byId[c.idB].score + c.score;
        }
      } else if (k < 17) {
        const ids = new Float64Array(BODY_PARTS).fill(-1);
        ids[indexA] = c.idA;
        ids[indexB] = c.idB;
        rows.push({ ids, parts: 2, score: byId[c.idA].score + byId[c.idB].score + c.score });
      }
    }
  }
  rows = rows.filter((r) => !(r.parts < 4 || r.score / r.parts < 0.4));
  return rows.map((r) => ({
    keypoints: Array.from(r.ids, (id) => (id === -1 ? null : byId[id])),
    score: r.score,
    parts: r.parts,
  }));
}
