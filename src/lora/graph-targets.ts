/**
 * Where each torch module's weight lives in an ONNX graph, found from the graph's structure. Torch-exported graphs
 * keep the module path in node names (`/down_blocks.0/attentions.0/…/to_q/MatMul`) while the weight initializer may
 * be renamed and transposed (`onnx::MatMul_1234`, [in, out]); graphs built by name (the tiny generator, optimum)
 * name the initializer after the state-dict key. Both are indexed; `weight_names.json` next to the graph
 * (`{"<module path>": "<initializer>"}`, written by export_onnx.py) wins when present.
 */
import type { ModelProto, NodeProto, TensorProto } from '../onnx/onnx.js';
import { canonicalModuleKey, type LoraComponent } from './lora-file.js';

/** How the weight is stored: `linear-in-out` [in, out] (MatMul B), `linear-out-in` [out, in] (Gemm transB), `conv` [out, in, kh, kw]. */
export type WeightLayout = 'linear-in-out' | 'linear-out-in' | 'conv';

export interface WeightTarget {
  initializer: string;
  layout: WeightLayout;
  dims: number[];
}

/** Module scopes the exporters wrap a component in (`/unet/…`, `text_encoder.text_model…`). */
const WRAPPERS = new Set(['unet', 'text_encoder', 'text_encoder_2', 'model']);

function stripWrapper(segments: string[]): string[] {
  return segments.length > 1 && WRAPPERS.has(segments[0]!) ? segments.slice(1) : segments;
}

function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
}

/** The initializer a value comes from, through Cast and Identity nodes (float16 storage cast to float32). */
function traceInitializer(value: string, producers: Map<string, NodeProto>, initializers: Map<string, TensorProto>): TensorProto | null {
  for (let hops = 0; hops < 4; hops++) {
    const init = initializers.get(value);
    if (init) return init;
    const p = producers.get(value);
    if (!p || (p.opType !== 'Cast' && p.opType !== 'Identity')) return null;
    value = p.input![0]!;
  }
  return null;
}

function layoutOf(node: NodeProto, dims: number[]): WeightLayout | null {
  if (node.opType === 'Conv' && dims.length === 4) return 'conv';
  if (node.opType === 'MatMul' && dims.length === 2) return 'linear-in-out';
  if (node.opType === 'Gemm' && dims.length === 2) return attrInt(node, 'transB', 0) === 1 ? 'linear-out-in' : 'linear-in-out';
  return null;
}

/** Canonical module key → weight, for every MatMul, Gemm and Conv whose weight is an initializer. */
export function weightTargets(model: ModelProto, component: LoraComponent, nameMap?: Record<string, string>): Map<string, WeightTarget> {
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producers = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producers.set(o, n);
  const byInitializer = new Map<string, WeightTarget>();
  const targets = new Map<string, WeightTarget>();
  const add = (path: string, t: WeightTarget) => {
    const key = canonicalModuleKey(component, stripWrapper(path.split(/[./]/).filter((s) => s !== '')).join('_'));
    if (!targets.has(key)) targets.set(key, t);
  };
  for (const node of graph.node ?? []) {
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm' && node.opType !== 'Conv') continue;
    const init = traceInitializer(node.input?.[1] ?? '', producers, initializers);
    if (!init) continue;
    const dims = (init.dims ?? []).map(Number);
    const layout = layoutOf(node, dims);
    if (!layout) continue;
    const target = { initializer: init.name!, layout, dims };
    byInitializer.set(init.name!, target);
    if (init.name!.endsWith('.weight') && !init.name!.startsWith('onnx::')) add(init.name!.slice(0, -'.weight'.length), target);
    const scope = (node.name ?? '').split('/').filter((s) => s !== '');
    if (scope.length > 1) add(scope.slice(0, -1).join('.'), target);
  }
  if (nameMap) {
    for (const [path, name] of Object.entries(nameMap)) {
      const t = byInitializer.get(name);
      if (t) targets.set(canonicalModuleKey(component, stripWrapper(path.replace(/\.weight$/, '').split('.')).join('_')), t);
    }
  }
  return targets;
}
