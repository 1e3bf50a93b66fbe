/**
 * Sums several ControlNets' residuals in onnxruntime instead of JS: a small graph per combination of input dtypes,
 * UNet dtype and guess mode, built with the ONNX graph toolkit (src/onnx) and run on the CPU provider (vectorised casts, all cores).
 * Two float16 ControlNets at 512x512 take 39–73 ms per step there on 2 shared cores against 147 ms in JS
 * (scripts/bench-residual-mix.ts, docs/benchmarks.md). Math as the JS path: float32 products and sums, one rounding
 * to the UNet's type.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model-file.js';
import { onnxDType } from '../onnx/onnx.js';
import type { FloatType } from '../runtime/tensors.js';

export interface ResidualSumVariant {
  /** dtype of each ControlNet's outputs, in order. */
  inputs: readonly FloatType[];
  unetType: FloatType;
  /** Number of residuals (down ones and mid). */
  residuals: number;
  /** Per-residual guess-mode factors, or null. */
  guessScales: readonly number[] | null;
  /** 2: zeros for the unconditional half go first (guess mode with CFG). */
  batchFactor: number;
}

export const inputName = (r: number, k: number) => `r${r}_cn${k}`;
export const scaleName = (k: number) => `scale_cn${k}`;
export const outputName = (r: number) => `r${r}`;

export function buildResidualSumGraph(v: ResidualSumVariant): GraphBuilder {
  const g = new GraphBuilder('residual_sum', { seed: 0, storage: 'float32' });
  const scales = v.inputs.map((_, k) => g.input(scaleName(k), 'float32', []));
  for (let r = 0; r < v.residuals; r++) {
    const dims = ['batch', `channels_${r}`, `height_${r}`, `width_${r}`];
    let sum = '';
    v.inputs.forEach((type, k) => {
      const x = g.input(inputName(r, k), type, dims);
      const f = type === 'float32' ? x : g.op('Cast', [x], { to: onnxDType('float32') });
      const term = g.op('Mul', [f, scales[k]!]);
      sum = k === 0 ? term : g.op('Add', [sum, term]);
    });
    if (v.guessScales) sum = g.op('Mul', [sum, g.float32([v.guessScales[r]!], [])]);
    // ConstantOfShape's default value is a float32 zero: exact zeros, as diffusers' torch.zeros_like.
    if (v.batchFactor === 2) sum = g.op('Concat', [g.op('ConstantOfShape', [g.op('Shape', [sum])]), sum], { axis: 0 });
    const out = v.unetType === 'float32' ? sum : g.op('Cast', [sum], { to: onnxDType('float16') });
    g.output(out, outputName(r), v.unetType, [v.batchFactor === 2 ? 'out_batch' : 'batch', ...dims.slice(1)]);
  }
  return g;
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** The variant's session, created on first use and kept for the process (a few kB each). */
export function residualSumSession(v: ResidualSumVariant): Promise<ort.InferenceSession> {
  const key = JSON.stringify(v);
  let session = sessions.get(key);
  if (!session) {
    // One thread: a few element-wise ops on residuals; onnxruntime's default would start a pool as wide as the machine
    // beside the model sessions' own (THREADS).
    session = ort.InferenceSession.create(encodeModel(buildResidualSumGraph(v)), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    sessions.set(key, session);
    session.catch(() => sessions.delete(key));
  }
  return session;
}
