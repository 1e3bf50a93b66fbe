/** Scaled dot-product attention over token sequences [batch, length, heads * headDim]. */
import type { GraphBuilder } from '../../../src/onnx/graph.js';

export interface AttentionSpec {
  heads: number;
  headDim: number;
  /** Additive mask broadcastable to the scores [batch, heads, queries, keys] (CLIP's causal mask). */
  mask?: string;
  /** Prefix of the node names (the owning layer's name). */
  name?: string;
}

/** softmax(q k^T / sqrt(headDim) + mask) v per head; q [B, Lq, H*D], k and v [B, Lk, H*D] -> [B, Lq, H*D]. */
export function attention(g: GraphBuilder, q: string, k: string, v: string, spec: AttentionSpec): string {
  const { heads, headDim } = spec;
  const at = spec.name ?? 'attention';
  // Scaling q (Lq x D values) costs less than scaling the scores (Lq x Lk).
  const qScaled = g.op('Mul', [q, g.float32([1 / Math.sqrt(headDim)], [])]);
  let qh: string, kt: string, vh: string;
  if (heads === 1) {
    // One head needs no head axis: [B, L, D] already is the per-head layout.
    qh = qScaled;
    kt = g.op('Transpose', [k], { perm: [0, 2, 1] });
    vh = v;
  } else {
    const split = g.int64([0, 0, heads, headDim]);
    qh = g.op('Transpose', [g.op('Reshape', [qScaled, split])], { perm: [0, 2, 1, 3] });
    kt = g.op('Transpose', [g.op('Reshape', [k, split])], { perm: [0, 2, 3, 1] });
    vh = g.op('Transpose', [g.op('Reshape', [v, split])], { perm: [0, 2, 1, 3] });
  }
  let scores = g.op('MatMul', [qh, kt], {}, `${at}/Scores`);
  if (spec.mask !== undefined) scores = g.op('Add', [scores, spec.mask], {}, `${at}/Masked`);
  const probs = g.op('Softmax', [scores], { axis: -1 }, `${at}/Softmax`);
  const out = g.op('MatMul', [probs, vh], {}, `${at}/Attended`);
  if (heads === 1) return out;
  const merged = g.op('Transpose', [out], { perm: [0, 2, 1, 3] });
  return g.op('Reshape', [merged, g.int64([0, 0, heads * headDim])]);
}
