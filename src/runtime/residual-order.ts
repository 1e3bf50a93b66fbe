/**
 * The 13 ControlNet residuals in diffusers' order (12 down-block, then mid). Exporters keep that order in the graph,
 * but a graph rewritten by a tool may list them alphabetically (down_block_0, down_block_1, down_block_10, ...).
 * Names are trusted only when all 13 tell their place — twelve distinct indices 0..11 and one "mid" — which
 * onnx-web's ControlNet outputs ("down_block_res_samples", "mid_block_res_sample", then traced names) do not:
 * otherwise the graph order stands.
 */
interface Named {
  name: string;
}

const MID = /mid/i;

/** The first number in a name, e.g. 3 in "down_block_3_additional_residual". */
function firstIndex(name: string): number | null {
  const match = /\d+/.exec(name);
  return match ? Number(match[0]) : null;
}

export function orderResiduals<T extends Named>(residuals: readonly T[]): T[] {
  const mids = residuals.filter((r) => MID.test(r.name));
  const downs = residuals.filter((r) => !MID.test(r.name));
  if (mids.length !== 1 || downs.length !== residuals.length - 1) return [...residuals];
  const indices = downs.map((r) => firstIndex(r.name));
  const expected = downs.map((_, i) => i);
  const sorted = [...indices].sort((a, b) => (a ?? -1) - (b ?? -1));
  if (sorted.some((v, i) => v !== expected[i])) return [...residuals];
  return [
    ...downs
      .map((r, i) => ({ r, index: indices[i]! }))
      .sort((a, b) => a.index - b.index)
      .map((e) => e.r),
    mids[0]!,
  ];
}
