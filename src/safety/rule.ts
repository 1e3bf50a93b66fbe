/**
 * diffusers' StableDiffusionSafetyChecker.forward rule (v0.27.2), on the image embeds the exported vision tower gives:
 * cosine similarities to the 3 special-care and 17 concept embeddings; a special-care score
 * `round(cos − threshold + adjustment, 3) > 0` raises the adjustment to 0.01 for the rest of that image; the image
 * is NSFW when any concept score `round(cos − threshold + adjustment, 3)` is > 0. As diffusers, cosines are float32
 * and the subtraction and rounding float64 (numpy's `round`: rint(x · 1000) / 1000, ties to even).
 */

/** The checker's fixed parameters (concepts.json beside the ONNX graph). */
export interface SafetyConcepts {
  concept_embeds: number[][];
  concept_embeds_weights: number[];
  special_care_embeds: number[][];
  special_care_embeds_weights: number[];
}

export interface SafetyVerdict {
  nsfw: boolean;
  specialScores: number[];
  conceptScores: number[];
  /** Indices of the concepts whose score is > 0. */
  badConcepts: number[];
}

/** `nn.functional.normalize` in float32: x / max(‖x‖, 1e-12). */
function normalize(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.max(Math.fround(Math.sqrt(Math.fround(sum))), 1e-12);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

function cosines(image: Float32Array, embeds: readonly (readonly number[])[]): Float32Array {
  const out = new Float32Array(embeds.length);
  embeds.forEach((e, j) => {
    const n = normalize(e);
    let dot = 0;
    for (let i = 0; i < n.length; i++) dot += image[i]! * n[i]!;
    out[j] = dot;
  });
  return out;
}

/** numpy's round(x, 3) of a float64. */
export function round3(x: number): number {
  const v = x * 1000;
  let r = Math.round(v);
  if (Math.abs(v - Math.trunc(v)) === 0.5) r = 2 * Math.round(v / 2);
  return r / 1000;
}

/** The verdict for one image embedding (`image_embeds`, after visual_projection). */
export function safetyVerdict(imageEmbeds: ArrayLike<number>, concepts: SafetyConcepts): SafetyVerdict {
  const image = normalize(imageEmbeds);
  const special = cosines(image, concepts.special_care_embeds);
  const concept = cosines(image, concepts.concept_embeds);
  let adjustment = 0;
  const specialScores = Array.from(special, (cos, j) => {
    const score = round3(cos - Math.fround(concepts.special_care_embeds_weights[j]!) + adjustment);
    if (score > 0) adjustment = 0.01;
    return score;
  });
  const conceptScores = Array.from(concept, (cos, j) => round3(cos - Math.fround(concepts.concept_embeds_weights[j]!) + adjustment));
  const badConcepts = conceptScores.flatMap((s, j) => (s > 0 ? [j] : []));
  return { nsfw: badConcepts.length > 0, specialScores, conceptScores, badConcepts };
}

/** Checks concepts.json's shape; the message says what is wrong (for a 400/log, never a path). */
export function parseConcepts(value: unknown, width: number | null): SafetyConcepts {
  const v = value as Partial<SafetyConcepts> | null;
  const matrix = (m: unknown) => Array.isArray(m) && m.length > 0 && m.every((r) => Array.isArray(r) && r.every((x) => typeof x === 'number'));
  const vector = (m: unknown, n: number) => Array.isArray(m) && m.length === n && m.every((x) => typeof x === 'number');
  if (!v || !matrix(v.concept_embeds) || !matrix(v.special_care_embeds))
    throw new Error('concepts.json needs concept_embeds and special_care_embeds (arrays of number arrays)');
  if (!vector(v.concept_embeds_weights, v.concept_embeds!.length) || !vector(v.special_care_embeds_weights, v.special_care_embeds!.length)) {
    throw new Error('concepts.json needs one weight per embedding in concept_embeds_weights and special_care_embeds_weights');
  }
  const widths = new Set([...v.concept_embeds!, ...v.special_care_embeds!].map((r) => r.length));
  if (widths.size !== 1 || (width !== null && !widths.has(width))) throw new Error(`concepts.json embeddings must all be ${width ?? 'of one'} wide`);
  return v as SafetyConcepts;
}
