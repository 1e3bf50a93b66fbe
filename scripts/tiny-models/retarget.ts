/**
 * Edits of a built graph's interface (names, order, dtypes, batch) that reproduce other exporters' I/O conventions
 * on the generated models, so the runtime's matching by rank, position and shape can be tested against them. The
 * computation is untouched: a retyped input is cast back to the type the graph computes in.
 */
import type { GraphBuilder, ValueDecl } from '../../src/onnx/graph.js';
import { onnxDType, type Dim, type TensorDType } from '../../src/onnx/onnx.js';

function replaceUses(g: GraphBuilder, from: string, to: string): void {
  for (const node of g.nodes) {
    if (node.inputs.includes(from)) node.inputs = node.inputs.map((v) => (v === from ? to : v));
  }
}

function declOf(list: ValueDecl[], name: string, what: string): ValueDecl {
  const decl = list.find((d) => d.name === name);
  if (!decl) throw new Error(`retarget: the graph has no ${what} "${name}"`);
  return decl;
}

/** Renames graph input or output `from` to `to` (every node that reads or writes it follows). */
export function renameValue(g: GraphBuilder, from: string, to: string): void {
  if (from === to) return;
  const known = [...g.inputs, ...g.outputs].find((d) => d.name === from);
  if (!known) throw new Error(`retarget: no graph input or output "${from}"`);
  if ([...g.inputs, ...g.outputs].some((d) => d.name === to)) throw new Error(`retarget: "${to}" is taken`);
  for (const decl of [...g.inputs, ...g.outputs]) if (decl.name === from) decl.name = to;
  for (const node of g.nodes) {
    node.inputs = node.inputs.map((v) => (v === from ? to : v));
    node.outputs = node.outputs.map((v) => (v === from ? to : v));
  }
}

/** Puts the named inputs first, in this order; the others keep their order after them. */
export function reorderInputs(g: GraphBuilder, order: readonly string[]): void {
  const listed = order.map((name) => declOf(g.inputs, name, 'input'));
  const rest = g.inputs.filter((d) => !order.includes(d.name));
  g.inputs.splice(0, g.inputs.length, ...listed, ...rest);
}

/** Declares input `name` as `dtype` with `dims`; a Cast at the start of the graph turns it back into what it was. */
export function retypeInput(g: GraphBuilder, name: string, dtype: TensorDType, dims: readonly Dim[]): void {
  const decl = declOf(g.inputs, name, 'input');
  if (decl.dtype !== dtype) {
    const cast = g.unique(`${name}/Retype`);
    replaceUses(g, name, cast);
    g.nodes.unshift({ opType: 'Cast', name: g.unique(`${name}/RetypeCast`), inputs: [name], outputs: [cast], attrs: { to: onnxDType(decl.dtype) } });
    decl.dtype = dtype;
  }
  decl.dims = dims;
}

/** Replaces the symbolic batch dimension of every input and output with a fixed size. */
export function fixBatch(g: GraphBuilder, size: number, symbol = 'batch'): void {
  for (const decl of [...g.inputs, ...g.outputs]) decl.dims = decl.dims.map((d) => (d === symbol ? size : d));
}
