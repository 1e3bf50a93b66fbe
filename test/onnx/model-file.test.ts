import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/onnx/graph.js';
import { linear } from '../../scripts/tiny-models/layers/linear.js';
import { encodeModel, saveModel } from '../../src/onnx/model-file.js';
import { onnx } from '../../src/onnx/onnx.js';
import { f32, floats, ort, wave } from '../tiny-models/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-builder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** x [batch, 64] -> two linears (a 16 KiB and a 1 KiB-ish weight, small biases). */
function twoLayers(storage: 'float32' | 'float16' | 'none' = 'float32'): GraphBuilder {
  const g = new GraphBuilder('two_layers', { seed: 11, storage });
  const h = linear(g, g.input('x', 'float32', ['batch', 64]), 'fc1', { inFeatures: 64, outFeatures: 64 });
  g.output(linear(g, h, 'fc2', { inFeatures: 64, outFeatures: 3 }), 'y', 'float32', ['batch', 3]);
  return g;
}

describe('model files', () => {
  it('declares IR 8, opset 17 and symbolic dims', () => {
    const model = onnx.ModelProto.decode(encodeModel(twoLayers()));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    const dims = model.graph!.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 64]);
  });

  it('writes weights to one external data file that onnxruntime loads, with the same results as inline', async () => {
    const inlinePath = join(dir, 'inline', 'model.onnx');
    const externalPath = join(dir, 'external', 'model.onnx');
    const inline = saveModel(twoLayers(), inlinePath);
    const external = saveModel(twoLayers(), externalPath, { externalData: 'always', dataFileName: 'weights.pb' });
    expect(inline.dataPath).toBeUndefined();
    expect(external.dataPath).toBe(join(dir, 'external', 'weights.pb'));
    expect(statSync(external.dataPath!).size).toBe(external.dataBytes);
    expect(external.modelBytes).toBeLessThan(4096);

    const model = onnx.ModelProto.decode(readFileSync(externalPath));
    const byName = new Map(model.graph!.initializer!.map((t) => [t.name, t]));
    const fc1 = byName.get('fc1.weight')!;
    expect(fc1.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    const entries = Object.fromEntries(fc1.externalData!.map((e) => [e.key, e.value]));
    expect(entries.location).toBe('weights.pb');
    expect(Number(entries.offset) % 4096).toBe(0);
    expect(Number(entries.length)).toBe(64 * 64 * 4);
    expect(byName.get('fc1.bias')!.dataLocation).not.toBe(onnx.TensorProto.DataLocation.EXTERNAL); // 256 bytes stay inline

    const x = f32(wave(128), [2, 64]);
    const run = async (path: string) => {
      const s = await ort.InferenceSession.create(path);
      const y = floats((await s.run({ x })).y);
      await s.release();
      return y;
    };
    expect(Array.from(await run(externalPath))).toEqual(Array.from(await run(inlinePath)));
  });

  it('refuses to save a structure-only graph, which still counts its parameters', () => {
    const g = twoLayers('none');
    expect(g.paramCount).toBe(64 * 64 + 64 + 64 * 3 + 3);
    expect(g.initializers).toHaveLength(0);
    expect(() => encodeModel(g)).toThrow(/cannot be saved/);
  });
});
