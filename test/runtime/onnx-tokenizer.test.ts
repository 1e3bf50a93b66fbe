/** The CLIP vocabulary inside an onnxruntime-extensions CLIPTokenizer graph (older OnnxStack/Amuse folders). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onnx } from '../../src/onnx/onnx.js';
import { builtinTokenizerFiles } from '../../scripts/tiny-models/tokenizer/clip-tokenizer-files.js';
import { loadClipTokenizer, readTokenizerGraph } from '../../src/runtime/onnx-tokenizer.js';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer.js';

const root = mkdtempSync(path.join(tmpdir(), 'onnx-tokenizer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tokenizerGraph(vocab: string, merges: string): Uint8Array {
  const T = onnx.AttributeProto.AttributeType;
  const str = (name: string, value: string) => ({ name, type: T.STRING, s: new TextEncoder().encode(value) });
  const tensor = (name: string, elemType: number) => ({ name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'n' }] } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.contrib', version: 1 },
    ],
    graph: {
      name: 'tokenizer',
      node: [
        {
          opType: 'CLIPTokenizer',
          domain: 'ai.onnx.contrib',
          input: ['string_input'],
          output: ['input_ids'],
          attribute: [str('vocab', vocab), str('merges', merges), { name: 'padding_length', type: T.INT, i: -1 }],
        },
      ],
      input: [tensor('string_input', onnx.TensorProto.DataType.STRING)],
      output: [tensor('input_ids', onnx.TensorProto.DataType.INT64)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('a CLIPTokenizer graph', () => {
  it('yields the tokenizer its vocab and merges attributes describe', async () => {
    const files = builtinTokenizerFiles().files;
    const dir = path.join(root, 'tokenizer');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.onnx'), tokenizerGraph(files['vocab.json']!, files['merges.txt']!));
    const graph = await readTokenizerGraph(path.join(dir, 'model.onnx'));
    expect(graph?.merges).toBe(files['merges.txt']);

    const fromGraph = await loadClipTokenizer(dir);
    const fromFiles = ClipTokenizer.fromVocabAndMerges(JSON.parse(files['vocab.json']!), files['merges.txt']!);
    const prompt = 'a red house by the sea, golden hour';
    expect([...fromGraph.encode(prompt).ids]).toEqual([...fromFiles.encode(prompt).ids]);
    expect(fromGraph.encode(prompt).ids[1]).not.toBe(fromGraph.padId);
  });

  it('keeps the folder error when there is no graph either', async () => {
    await expect(loadClipTokenizer(path.join(root, 'nothing'))).rejects.toThrow(/no tokenizer found/);
  });
});
