/**
 * The memory a session's weights take, from its files: the .onnx file plus its external data (`<file>_data`,
 * `<file>.data`, `weights.pb` beside it, as exporters write them). Initializers are nearly all of a model file's
 * bytes, and onnxruntime holds one copy of each (on the device for GPU providers), so this is the session's weight
 * footprint. Activations come on top while it runs: MODEL_MEMORY_BUDGET's default leaves room for them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const EXTERNAL = (base: string) => [`${base}_data`, `${base}.data`, 'weights.pb'];

export async function sessionBytes(modelPath: string): Promise<number> {
  const size = async (p: string) =>
    fs.stat(p).then(
      (s) => (s.isFile() ? s.size : 0),
      () => 0,
    );
  const dir = path.dirname(modelPath);
  const extra = await Promise.all(EXTERNAL(path.basename(modelPath)).map((name) => size(path.join(dir, name))));
  return (await size(modelPath)) + extra.reduce((a, b) => a + b, 0);
}
