/**
 * Some exports fix the batch size (static shapes for TensorRT or DirectML, a batch of 1 or the CFG pair of 2). Such
 * a graph is run on a larger batch in chunks of its size, and on a smaller one with the last item repeated; the
 * outputs are cut back and joined along the batch axis.
 */
import * as ort from 'onnxruntime-node';

type Feeds = Record<string, ort.Tensor>;

/**
 * The inputs to cut along the batch axis: the 3-D and 4-D ones, and a [batch] timestep. A scalar timestep, or one of
 * static length (the feed is already that long), is the same for every chunk.
 */
export function batchedInputNames(specs: readonly { name: string; shape: readonly (number | string)[] }[]): string[] {
  return specs.filter((s) => s.shape.length >= 3 || (s.shape.length === 1 && typeof s.shape[0] !== 'number')).map((s) => s.name);
}
type Run = (feeds: Feeds) => Promise<ort.InferenceSession.ReturnType>;

/** Items [from, from + count) of a batched tensor, repeating the last item past `total`. */
function sliceBatch(t: ort.Tensor, total: number, from: number, count: number): ort.Tensor {
  const data = t.data as Float32Array | Uint16Array | BigInt64Array | Int32Array | Float64Array;
  const per = data.length / total;
  const dims = [count, ...t.dims.slice(1)];
  if (from + count <= total) return new ort.Tensor(t.type, data.subarray(from * per, (from + count) * per) as never, dims);
  const out = new (data.constructor as new (n: number) => typeof data)(count * per);
  for (let k = 0; k < count; k++) {
    const item = Math.min(from + k, total - 1);
    out.set(data.subarray(item * per, (item + 1) * per) as never, k * per);
  }
  return new ort.Tensor(t.type, out as never, dims);
}

/**
 * Runs `run` on `total` items through a graph that takes exactly `fixed`: the inputs named in `batched` are cut
 * along axis 0, the others passed whole; every output is joined back to `total` items.
 */
export async function runInFixedBatches(run: Run, feeds: Feeds, batched: readonly string[], total: number, fixed: number): Promise<Record<string, ort.Tensor>> {
  if (total === fixed) return (await run(feeds)) as Record<string, ort.Tensor>;
  const parts: Record<string, ort.Tensor>[] = [];
  for (let from = 0; from < total; from += fixed) {
    const chunk: Feeds = { ...feeds };
    for (const name of batched) chunk[name] = sliceBatch(feeds[name]!, total, from, fixed);
    parts.push((await run(chunk)) as Record<string, ort.Tensor>);
  }
  const joined: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(parts[0]!)) {
    const first = parts[0]![name]!;
    const per = first.size / fixed;
    const data = first.data as Float32Array | Uint16Array;
    const out = new (data.constructor as new (n: number) => Float32Array | Uint16Array)(total * per);
    parts.forEach((p, k) => {
      const items = Math.min(fixed, total - k * fixed);
      out.set((p[name]!.data as Float32Array | Uint16Array).subarray(0, items * per) as never, k * fixed * per);
    });
    joined[name] = new ort.Tensor(first.type as 'float32', out as Float32Array, [total, ...first.dims.slice(1)]);
  }
  return joined;
}
