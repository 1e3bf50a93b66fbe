/**
 * The text encoder with embeddings added, against diffusers 0.27.2's `load_textual_inversion` on the sd-tiny parity
 * model (test/fixtures/embeddings, make-embeddings-parity.py): the token ids of each prompt (multi-vector tokens
 * expanded as maybe_convert_prompt does) are exactly diffusers', and `encode_prompt`'s embeddings match within 1e-5;
 * with a LoRA merged into the same graph first too. The float16 tiny model's table takes rows in float16.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { EmbeddingRef } from '../../src/domain/model-files.js';
import { addEmbeddings, type GraphBytes } from '../../src/embeddings/embedding-set.js';
import { findTokenTable, tableRows } from '../../src/embeddings/token-table.js';
import { mergeLoraSet } from '../../src/lora/lora-set.js';
import { onnx } from '../../src/onnx/onnx.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/tensor/float16.js';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer.js';
import { encodeSafetensors, readSafetensorsFile } from '../../src/weights/safetensors.js';
import { MODELS_DIR } from '../helpers/models.js';
import { readNpyFloat32 } from '../helpers/npy.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'embeddings');
const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny', 'models', 'sd-tiny');
const LORA = path.join(import.meta.dirname, '..', 'fixtures', 'lora', 'lora', 'kohya_mix.safetensors');

interface Case {
  name: string;
  request: { prompt: string; negative_prompt: string | null; embeddings_model?: string; lora_model?: string };
  token_ids: Record<string, number[]>;
  debug: Record<string, string>;
}
const cases = (JSON.parse(readFileSync(path.join(FIXTURE, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;
const REFS: Record<string, EmbeddingRef> = {
  mystyle: { name: 'mystyle', path: path.join(FIXTURE, 'embeddings', 'mystyle.safetensors'), trigger: 'mystyle', vectors: 3 },
  cattoy: { name: 'cattoy', path: path.join(FIXTURE, 'embeddings', 'cattoy.safetensors'), trigger: '<cat-toy>', vectors: 1 },
};

/** Runs the graph on one row of ids (int32 or int64, as the export chose). */
function runIds(session: ort.InferenceSession, ids: Int32Array) {
  const input = session.inputNames[0]!;
  return session.run({ [input]: new ort.Tensor('int32', ids, [1, ids.length]) }).catch(() =>
    session.run({
      [input]: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [1, ids.length],
      ),
    }),
  );
}

/** A session of a graph from memory, its external weight files given as SessionOptions.externalData. */
function open(graph: GraphBytes): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(graph.model, graph.externalData.length > 0 ? { externalData: graph.externalData } : {});
}

async function hiddenStates(session: ort.InferenceSession, ids: Int32Array): Promise<Float32Array> {
  return (await runIds(session, ids)).last_hidden_state!.data as Float32Array;
}

describe('text encoder with embeddings vs diffusers load_textual_inversion', () => {
  const plain = ClipTokenizer.fromFolder(path.join(MODEL, 'tokenizer'));
  for (const c of cases.filter((x) => x.request.embeddings_model)) {
    it(`${c.name}: token ids equal diffusers', prompt embeddings within 1e-5`, async () => {
      const refs = c.request.embeddings_model!.split(',').map((id) => REFS[id]!);
      const graph = path.join(MODEL, 'text_encoder', 'model.onnx');
      const base = c.request.lora_model ? mergeLoraSet(graph, 'text_encoder', [{ name: 'kohya_mix', path: LORA, strength: 1 }]) : null;
      const { graph: added, tokens } = addEmbeddings(graph, base, { refs, part: 'single' });
      // Rows after the table's 2710, in request order: <t>, <t>_1, … per embedding.
      expect(tokens[0]).toEqual({ content: refs[0]!.trigger, id: 2710 });
      const tokenizer = (await plain).withAddedTokens(tokens);
      const session = await open(added);
      try {
        for (const [label, text, npy] of [
          ['prompt', c.request.prompt, c.debug.prompt_embeds],
          ['negative_prompt', c.request.negative_prompt ?? '', c.debug.negative_prompt_embeds],
        ] as const) {
          const ids = tokenizer.encode(text).ids;
          expect(Array.from(ids), label).toEqual(c.token_ids[`tokenizer.${label}`]);
          const want = readNpyFloat32(path.join(FIXTURE, npy!)).data;
          const got = await hiddenStates(session, ids);
          let diff = 0;
          for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
          expect(diff, label).toBeLessThan(1e-5);
        }
      } finally {
        await session.release();
      }
    });
  }

  it('refuses vectors of another width than the table (a ClientError naming the field and both widths)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'embeddings-width-'));
    try {
      const file = path.join(dir, 'wide.safetensors');
      writeFileSync(file, encodeSafetensors({ emb_params: { dtype: 'F32', shape: [1, 768], data: new Float32Array(768) } }));
      const use = { refs: [{ name: 'wide', path: file, trigger: 'wide', vectors: 1 }], part: 'single' as const };
      expect(() => addEmbeddings(path.join(MODEL, 'text_encoder', 'model.onnx'), null, use)).toThrow(
        expect.objectContaining({
          statusCode: 400,
          message: expect.stringMatching(/^embeddings_model: embedding "wide" has 768-wide vectors, but this model's text_encoder takes 32/),
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a float16 table takes the rows in float16, and the graph runs with the new ids', async () => {
    const graph = path.join(MODELS_DIR, 'tiny-sd15-fp16', 'text_encoder', 'model.onnx');
    const before = findTokenTable(onnx.ModelProto.decode(readFileSync(graph)), 'input_ids');
    const { graph: added, tokens } = addEmbeddings(graph, null, { refs: [REFS.mystyle!], part: 'single' });
    const after = findTokenTable(onnx.ModelProto.decode(added.model), 'input_ids');
    expect(after.tensor.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
    expect(after.rows).toBe(before.rows + 3);
    expect(tokens.map((t) => t.content)).toEqual(['mystyle', 'mystyle_1', 'mystyle_2']);
    expect(tokens.map((t) => t.id)).toEqual([before.rows, before.rows + 1, before.rows + 2]);
    // The tiny fp16 model is 32 wide like sd-tiny: its rows are mystyle's, rounded to float16.
    const rows = tableRows(after.tensor).subarray(before.rows * after.dim);
    const mystyle = readSafetensorsFile(REFS.mystyle!.path).tensors.get('emb_params')!.values;
    expect(Array.from(rows)).toEqual(Array.from(float16ToFloat32(float32ToFloat16(mystyle))));
    const session = await open(added);
    try {
      const out = await runIds(session, new Int32Array(77).fill(before.rows + 2));
      expect(Object.keys(out).length).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });

  it('a graph with its weights in an external file (the table too) takes embeddings: only the table comes inline, the rest stays external, same output', async () => {
    const graph = path.join(MODEL, 'text_encoder', 'model.onnx');
    const dir = mkdtempSync(path.join(tmpdir(), 'embeddings-external-'));
    try {
      // The parity text encoder again, every raw initializer moved to one weights file beside it.
      const model = onnx.ModelProto.decode(readFileSync(graph));
      const chunks: Uint8Array[] = [];
      let offset = 0;
      for (const t of model.graph!.initializer ?? []) {
        if (!t.rawData || t.rawData.byteLength === 0) continue;
        chunks.push(t.rawData);
        t.externalData = [
          { key: 'location', value: 'weights.bin' },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(t.rawData.byteLength) },
        ];
        offset += t.rawData.byteLength;
        t.rawData = new Uint8Array(0);
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      }
      const external = path.join(dir, 'model.onnx');
      writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(chunks));
      writeFileSync(external, onnx.ModelProto.encode(model).finish());

      const use = { refs: [REFS.mystyle!, REFS.cattoy!], part: 'single' as const };
      const inline = addEmbeddings(graph, null, use);
      const fromFiles = addEmbeddings(external, null, use);
      expect(fromFiles.tokens).toEqual(inline.tokens);
      const proto = onnx.ModelProto.decode(fromFiles.graph.model);
      const stillExternal = (proto.graph!.initializer ?? []).filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
      expect(stillExternal.length).toBeGreaterThan(0);
      expect(findTokenTable(proto, 'input_ids').tensor.dataLocation).not.toBe(onnx.TensorProto.DataLocation.EXTERNAL);
      expect(fromFiles.graph.externalData.map((f) => f.path)).toEqual(['weights.bin']);

      const ids = new Int32Array(77).fill(inline.tokens.at(-1)!.id);
      ids[0] = 1;
      const [a, b] = [await open(inline.graph), await open(fromFiles.graph)];
      try {
        expect(Array.from(await hiddenStates(b, ids))).toEqual(Array.from(await hiddenStates(a, ids)));
      } finally {
        await Promise.all([a.release(), b.release()]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
