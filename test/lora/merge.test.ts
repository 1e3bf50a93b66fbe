/**
 * LoRA key parsing (kohya, PEFT, diffusers' older names), mapping modules to weights by graph structure (the tiny
 * generator's named graphs, float32 and float16, and the torch-exported sd-tiny fixture with `onnx::MatMul_…`
 * weights stored [in, out]), and the merged weights: W + strength × alpha / rank × up·down, checked element by
 * element against a plain computation, and the merged graph opening in onnxruntime from memory. Graphs with their
 * weights in external data are patched in place: the proto goes to onnxruntime as read, the weight file once, in
 * memory, and the merge equals the merge into the same graph with its weights inline, byte for byte.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildTextEncoder } from '../../scripts/tiny-models/sd/clip-text-encoder.js';
import { FP16_FORMAT, FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { weightTargets } from '../../src/lora/graph-targets.js';
import { parseLora } from '../../src/lora/lora-file.js';
import { tensorBytes } from '../../src/lora/graph-in-memory.js';
import { LoraMergeError, mergeLoras, type MergedModel } from '../../src/lora/merge.js';
import { encodeModel, saveModel } from '../../src/onnx/model-file.js';
import { onnx, type TensorProto } from '../../src/onnx/onnx.js';
import { float16ToFloat32 } from '../../src/tensor/float16.js';
import { encodeSafetensors, parseSafetensors } from '../../src/weights/safetensors.js';

const PARITY_UNET = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny', 'models', 'sd-tiny', 'unet', 'model.onnx');
const dir = mkdtempSync(path.join(tmpdir(), 'lora-merge-'));

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * 0.4;
  }
  return out;
}

const f32 = (shape: number[], seed: number) => ({
  dtype: 'F32' as const,
  shape,
  data: seeded(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});
const values = (t: TensorProto) =>
  t.dataType === onnx.TensorProto.DataType.FLOAT16
    ? float16ToFloat32(new Uint16Array(new Uint8Array(t.rawData!).buffer))
    : new Float32Array(new Uint8Array(t.rawData!).buffer);
const initializer = (bytes: Uint8Array, name: string) => onnx.ModelProto.decode(bytes).graph!.initializer!.find((t) => t.name === name)!;
/** A merged graph's initializers with their bytes as raw data, wherever the merge left them (inline or external). */
const mergedInitializers = (merged: MergedModel): Map<string, TensorProto> => {
  const model = Buffer.from(merged.model.buffer, merged.model.byteOffset, merged.model.byteLength);
  const proto = onnx.ModelProto.decode(model);
  return new Map(proto.graph!.initializer!.map((t) => [t.name!, { ...t, rawData: tensorBytes({ model, proto, externalData: merged.externalData }, t) }]));
};
const mergedInitializer = (merged: MergedModel, name: string): TensorProto => mergedInitializers(merged).get(name)!;

describe('LoRA keys', () => {
  it('reads kohya, PEFT and diffusers-processor names into one form, and reports what it cannot take', () => {
    const file = parseSafetensors(
      encodeSafetensors({
        'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': f32([2, 8, 1, 1], 1),
        'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': f32([8, 2, 1, 1], 2),
        'lora_unet_down_blocks_0_attentions_0_proj_in.alpha': { dtype: 'F32', shape: [], data: new Float32Array([1]) },
        'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': f32([2, 8], 3),
        'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': f32([8, 2], 4),
        'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': f32([2, 8], 3),
        'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': f32([8, 2], 4),
        'unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight': f32([2, 8], 5),
        'unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight': f32([8, 2], 6),
        'text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_A.weight': f32([2, 8], 7),
        'text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_B.weight': f32([8, 2], 8),
        'lora_unet_conv_in.hada_w1_a': f32([2, 2], 9),
        'lora_unet_conv_out.lora_down.weight': f32([2, 8], 10),
      }),
    );
    const lora = parseLora(file);
    expect(lora.modules.map((m) => [m.component, m.key, m.rank, m.alpha])).toEqual([
      ['unet', 'down_blocks_0_attentions_0_proj_in', 2, 1],
      ['text_encoder', 'text_model_layers_0_mlp_fc1', 2, null],
      ['text_encoder_2', 'text_model_layers_0_mlp_fc1', 2, null],
      ['unet', 'mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0', 2, null],
      ['text_encoder', 'text_model_layers_1_self_attn_q_proj', 2, null],
    ]);
    expect(lora.unsupported).toEqual(['lora_unet_conv_in.hada_w1_a', 'lora_unet_conv_out (no up matrix)']);
  });
});

describe('LoRA weight mapping and merge', () => {
  it('maps the torch-exported UNet by node names (onnx::MatMul_… weights, [in, out]) and every kind of layer', () => {
    const model = onnx.ModelProto.decode(readFileSync(PARITY_UNET));
    const t = weightTargets(model, 'unet');
    expect(t.get('down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q')).toMatchObject({
      initializer: expect.stringMatching(/^onnx::MatMul_/),
      layout: 'linear-in-out',
      dims: [8, 8],
    });
    expect(t.get('down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k')).toMatchObject({ layout: 'linear-in-out', dims: [32, 8] });
    expect(t.get('down_blocks_0_resnets_0_time_emb_proj')).toMatchObject({ layout: 'linear-out-in', dims: [4, 16] });
    expect(t.get('down_blocks_0_resnets_0_conv1')).toMatchObject({ layout: 'conv', dims: [4, 4, 3, 3] });
    expect(t.size).toBe(121);
  });

  for (const [label, format] of [
    ['float32', FP32_FORMAT],
    ['float16', FP16_FORMAT],
  ] as const) {
    it(`merges W + strength·alpha/rank·up·down into a ${label} generated graph (through its Cast), and the graph opens from memory`, async () => {
      const unetPath = path.join(dir, `unet-${label}.onnx`);
      writeFileSync(unetPath, encodeModel(buildUNet(TINY, format)));
      const q = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q';
      const conv = 'down_blocks.0.resnets.0.conv1';
      const plain = readFileSync(unetPath);
      const wq = values(initializer(plain, `${q}.weight`));
      const wc = values(initializer(plain, `${conv}.weight`));
      const [inQ, outQ] = initializer(plain, `${q}.weight`).dims!.map(Number) as [number, number];
      const [outC, inC] = initializer(plain, `${conv}.weight`).dims!.map(Number) as [number, number];
      const r = 3;
      const file = encodeSafetensors({
        [`lora_unet_${q.replace(/\./g, '_')}.lora_down.weight`]: f32([r, inQ], 11),
        [`lora_unet_${q.replace(/\./g, '_')}.lora_up.weight`]: f32([outQ, r], 12),
        [`lora_unet_${q.replace(/\./g, '_')}.alpha`]: { dtype: 'F32', shape: [], data: new Float32Array([1.5]) },
        [`unet.${conv}.lora_A.weight`]: f32([r, inC, 3, 3], 13),
        [`unet.${conv}.lora_B.weight`]: f32([outC, r, 1, 1], 14),
      });
      const lora = parseLora(parseSafetensors(file));
      const merged = mergeLoras(unetPath, 'unet', [{ name: 'x', lora, strength: 0.8 }]);
      expect(merged.reports).toEqual([{ name: 'x', matched: 2, unmatched: [], modules: 2, unsupported: 0 }]);
      const tol = label === 'float16' ? 2e-3 : 1e-6;
      const down = lora.modules[0]!.down.values;
      const up = lora.modules[0]!.up.values;
      const gotQ = values(mergedInitializer(merged, `${q}.weight`));
      for (let i = 0; i < inQ; i++) {
        for (let o = 0; o < outQ; o++) {
          let d = 0;
          for (let k = 0; k < r; k++) d += up[o * r + k]! * down[k * inQ + i]!;
          expect(Math.abs(gotQ[i * outQ + o]! - (wq[i * outQ + o]! + 0.8 * (1.5 / r) * d))).toBeLessThanOrEqual(tol * (1 + Math.abs(wq[i * outQ + o]!)));
        }
      }
      const gotC = values(mergedInitializer(merged, `${conv}.weight`));
      const cd = lora.modules[1]!.down.values;
      const cu = lora.modules[1]!.up.values;
      const K = inC * 9;
      for (let o = 0; o < outC; o++) {
        for (let j = 0; j < K; j++) {
          let d = 0;
          for (let k = 0; k < r; k++) d += cu[o * r + k]! * cd[k * K + j]!;
          expect(Math.abs(gotC[o * K + j]! - (wc[o * K + j]! + 0.8 * d))).toBeLessThanOrEqual(tol * (1 + Math.abs(wc[o * K + j]!)));
        }
      }
      // The file on disk is untouched, and the merged graph is a valid model for onnxruntime.
      expect(readFileSync(unetPath).equals(plain)).toBe(true);
      expect(merged.externalData).toEqual([]);
      const session = await ort.InferenceSession.create(merged.model, { intraOpNumThreads: 1 });
      expect(session.inputNames[0]).toBe('sample');
      await session.release();
    });
  }

  it('text-encoder LoRA keys map onto the generated text encoder; strength 0 leaves every weight as it was', () => {
    const tePath = path.join(dir, 'text_encoder.onnx');
    writeFileSync(tePath, encodeModel(buildTextEncoder(TINY, FP16_FORMAT, 500)));
    const plain = readFileSync(tePath);
    const name = 'text_model.encoder.layers.0.self_attn.v_proj';
    const w = initializer(plain, `${name}.weight`);
    const [inF, outF] = w.dims!.map(Number) as [number, number];
    const lora = parseLora(
      parseSafetensors(
        encodeSafetensors({
          [`lora_te_${name.replace(/\./g, '_')}.lora_down.weight`]: f32([2, inF], 21),
          [`lora_te_${name.replace(/\./g, '_')}.lora_up.weight`]: f32([outF, 2], 22),
          'lora_te_text_model_encoder_layers_9_mlp_fc1.lora_down.weight': f32([2, inF], 23),
          'lora_te_text_model_encoder_layers_9_mlp_fc1.lora_up.weight': f32([outF, 2], 24),
        }),
      ),
    );
    const zero = mergeLoras(tePath, 'text_encoder', [{ name: 't', lora, strength: 0 }]);
    expect(Buffer.from(mergedInitializer(zero, `${name}.weight`).rawData!).equals(Buffer.from(w.rawData!))).toBe(true);
    const one = mergeLoras(tePath, 'text_encoder', [{ name: 't', lora, strength: 1 }]);
    expect(one.reports[0]).toMatchObject({ matched: 1, unmatched: ['lora_te_text_model_encoder_layers_9_mlp_fc1'] });
    expect(Buffer.from(mergedInitializer(one, `${name}.weight`).rawData!).equals(Buffer.from(w.rawData!))).toBe(false);
  });
});

describe('weight_names.json', () => {
  it('an explicit module → initializer map beside the graph wins over the structure', async () => {
    const { copyFileSync, mkdirSync } = await import('node:fs');
    const folder = path.join(dir, 'named');
    mkdirSync(folder, { recursive: true });
    const unet = path.join(folder, 'model.onnx');
    copyFileSync(PARITY_UNET, unet);
    const model = onnx.ModelProto.decode(readFileSync(unet));
    const targets = weightTargets(model, 'unet');
    const q = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q';
    const k = targets.get('down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k')!.initializer;
    const qInit = targets.get(q.replace(/\./g, '_'))!.initializer;
    writeFileSync(path.join(folder, 'weight_names.json'), JSON.stringify({ [`unet.${q}.weight`]: k }));
    const lora = parseLora(parseSafetensors(encodeSafetensors({ [`unet.${q}.lora_A.weight`]: f32([1, 8], 31), [`unet.${q}.lora_B.weight`]: f32([8, 1], 32) })));
    const merged = mergeLoras(unet, 'unet', [{ name: 'n', lora, strength: 1 }]);
    const plain = readFileSync(unet);
    expect(Buffer.from(mergedInitializer(merged, k).rawData!).equals(Buffer.from(initializer(plain, k).rawData!))).toBe(false);
    expect(Buffer.from(mergedInitializer(merged, qInit).rawData!).equals(Buffer.from(initializer(plain, qInit).rawData!))).toBe(true);
  });
});

describe('graphs with external data', () => {
  /** A seeded kohya LoRA on every MatMul, Gemm and Conv weight of the graph (conv weights with alpha). */
  const everyLayer = (modelPath: string, seed: number, component: 'unet' | 'text_encoder' = 'unet') => {
    const tensors: Parameters<typeof encodeSafetensors>[0] = {};
    const prefix = component === 'unet' ? 'lora_unet_' : 'lora_te_';
    let i = 0;
    for (const [key, t] of weightTargets(onnx.ModelProto.decode(readFileSync(modelPath)), component)) {
      const d = t.dims;
      const conv = t.layout === 'conv';
      const [inF, outF] = conv ? [d[1]! * d[2]! * d[3]!, d[0]!] : t.layout === 'linear-in-out' ? [d[0]!, d[1]!] : [d[1]!, d[0]!];
      tensors[`${prefix}${key}.lora_down.weight`] = f32(conv ? [2, d[1]!, d[2]!, d[3]!] : [2, inF], seed + 2 * i);
      tensors[`${prefix}${key}.lora_up.weight`] = f32(conv ? [outF, 2, 1, 1] : [outF, 2], seed + 2 * i + 1);
      if (conv) tensors[`${prefix}${key}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([1.5]) };
      i++;
    }
    return parseLora(parseSafetensors(encodeSafetensors(tensors)));
  };
  const save = (name: string, format: typeof FP32_FORMAT, externalData: 'always' | 'never', build = buildUNet) => {
    const p = path.join(dir, name, 'model.onnx');
    saveModel(build(TINY, format), p, { externalData });
    return p;
  };
  /** The proto without its weights' bytes: what a merge must leave as it was. */
  const structure = (bytes: Uint8Array) => {
    const model = onnx.ModelProto.decode(bytes);
    for (const t of model.graph!.initializer!) t.rawData = new Uint8Array(0);
    return Buffer.from(onnx.ModelProto.encode(model).finish());
  };

  for (const [label, format] of [
    ['float32', FP32_FORMAT],
    ['float16', FP16_FORMAT],
  ] as const) {
    it(`${label}: the weight file is patched in memory, the proto passes as read, and the result equals the merge into inline weights byte for byte`, () => {
      const external = save(`ext-${label}`, format, 'always');
      const inline = save(`inline-${label}`, format, 'never');
      const dataFile = path.join(dir, `ext-${label}`, 'model.onnx_data');
      const plainData = readFileSync(dataFile);
      // Two LoRAs on the same weights: float16 weights take both in float32 and round once, as the inline merge does.
      const loras = [
        { name: 'a', lora: everyLayer(external, 100), strength: 0.9 },
        { name: 'b', lora: everyLayer(external, 900), strength: -1.2 },
      ];
      const a = mergeLoras(external, 'unet', loras);
      const b = mergeLoras(inline, 'unet', loras);
      // The proto is passed as read (weights under 1 KiB stay inline and are patched where they lie).
      expect(a.model.byteLength).toBe(readFileSync(external).byteLength);
      expect(structure(a.model).equals(structure(readFileSync(external)))).toBe(true);
      expect(a.externalData.map((f) => [f.path, f.data.byteLength])).toEqual([['model.onnx_data', plainData.byteLength]]);
      expect(b.externalData).toEqual([]);
      expect(a.reports).toEqual(b.reports);
      expect(a.reports[0]!.matched).toBeGreaterThan(100);
      const fromExternal = mergedInitializers(a);
      const fromInline = mergedInitializers(b);
      expect([...fromExternal.keys()]).toEqual([...fromInline.keys()]);
      const differing = [...fromInline].filter(([name, t]) => !Buffer.from(t.rawData!).equals(Buffer.from(fromExternal.get(name)!.rawData!)));
      expect(differing.map(([name]) => name)).toEqual([]);
      expect(Buffer.from(a.externalData[0]!.data).equals(plainData)).toBe(false);
      // The files on disk are untouched.
      expect(readFileSync(dataFile).equals(plainData)).toBe(true);
    });
  }

  it('a session opens from the patched proto and weight file in memory, runs as the inline merge does, and keeps its own copy of the weights', async () => {
    const te = (d: typeof TINY, f: typeof FP32_FORMAT) => buildTextEncoder(d, f, 500);
    const external = save('run-ext', FP32_FORMAT, 'always', te);
    const inline = save('run-inline', FP32_FORMAT, 'never', te);
    const loras = [{ name: 'a', lora: everyLayer(external, 300, 'text_encoder'), strength: 0.7 }];
    const a = mergeLoras(external, 'text_encoder', loras);
    const b = mergeLoras(inline, 'text_encoder', loras);
    expect(a.reports[0]!.matched).toBe(12);
    const opts = { intraOpNumThreads: 1 };
    const fromMemory = await ort.InferenceSession.create(a.model, { ...opts, externalData: a.externalData });
    const fromInline = await ort.InferenceSession.create(b.model, opts);
    const plain = await ort.InferenceSession.create(external, opts);
    const ids = Array.from({ length: 77 }, (_, i) => (i * 37) % 500);
    const feeds = {
      input_ids:
        FP32_FORMAT.inputIds === 'int64'
          ? new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, 77])
          : new ort.Tensor('int32', Int32Array.from(ids), [1, 77]),
    };
    const run = async (s: ort.InferenceSession) => (await s.run(feeds))[s.outputNames[0]!]!.data as Float32Array;
    const merged = await run(fromMemory);
    expect(Buffer.from(merged.buffer).equals(Buffer.from((await run(fromInline)).buffer))).toBe(true);
    expect(Buffer.from(merged.buffer).equals(Buffer.from((await run(plain)).buffer))).toBe(false);
    // onnxruntime copied the weights while it created the session: the merge's buffers may go once it is open.
    a.externalData[0]!.data.fill(0);
    expect(Buffer.from((await run(fromMemory)).buffer).equals(Buffer.from(merged.buffer))).toBe(true);
    await Promise.all([fromMemory.release(), fromInline.release(), plain.release()]);
  });

  it('refuses external data outside the model folder, naming the tensor and no path', () => {
    const external = save('escape', FP32_FORMAT, 'always');
    const model = onnx.ModelProto.decode(readFileSync(external));
    const t = model.graph!.initializer!.find((x) => x.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)!;
    t.externalData!.find((e) => e.key === 'location')!.value = '../escape/model.onnx_data';
    mkdirSync(path.join(dir, 'escape-inner'), { recursive: true });
    const moved = path.join(dir, 'escape-inner', 'model.onnx');
    writeFileSync(moved, onnx.ModelProto.encode(model).finish());
    const lora = everyLayer(external, 5);
    expect(() => mergeLoras(moved, 'unet', [{ name: 'a', lora, strength: 1 }])).toThrow(LoraMergeError);
    expect(() => mergeLoras(moved, 'unet', [{ name: 'a', lora, strength: 1 }])).toThrow(`tensor ${t.name}: external data outside the model folder`);
  });
});
