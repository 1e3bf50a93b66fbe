/** diffusers' Timesteps (flip_sin_to_cos=True, freq_shift=0) followed by TimestepEmbedding (linear, SiLU, linear). */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { silu } from '../layers/activation.js';
import { linear } from '../layers/linear.js';

/** Frequencies exp(-ln(10000) * i / half), rounded through float32 at each step as torch computes them. */
export function sinusoidFrequencies(half: number): Float32Array {
  const freqs = new Float32Array(half);
  const logMax = Math.fround(-Math.log(10000));
  for (let i = 0; i < half; i++) freqs[i] = Math.exp(Math.fround(Math.fround(logMax * i) / half));
  return freqs;
}

/**
 * `timestep` is float32, [batch] or a scalar; returns the time embedding [batch or 1, timeEmbedDim] (it broadcasts
 * over the batch as diffusers' `timesteps.expand(batch)` does).
 */
export function timestepEmbedding(g: GraphBuilder, timestep: string, channels: number, timeEmbedDim: number): string {
  const half = channels / 2;
  const column = g.op('Reshape', [timestep, g.int64([-1, 1])], {}, 'time_proj/Reshape');
  const args = g.op('Mul', [column, g.float32(sinusoidFrequencies(half), [1, half])], {}, 'time_proj/Mul');
  const projected = g.op('Concat', [g.op('Cos', [args]), g.op('Sin', [args])], { axis: 1 }, 'time_proj');
  const hidden = silu(g, linear(g, projected, 'time_embedding.linear_1', { inFeatures: channels, outFeatures: timeEmbedDim }));
  return linear(g, hidden, 'time_embedding.linear_2', { inFeatures: timeEmbedDim, outFeatures: timeEmbedDim });
}
