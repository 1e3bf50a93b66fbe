/**
 * SDXL's text-encoder LoRA keys find their weights in both of its encoders' graphs, in the torch export (sdxl-tiny
 * parity model: `/text_encoder/text_model/layers.N/…/MatMul` nodes over `onnx::MatMul_…` weights) and in the tiny
 * generator's named graphs (tiny-sdxl): kohya `lora_te1_`/`lora_te_` → text_encoder, `lora_te2_` and PEFT
 * `text_encoder_2.` → text_encoder_2, `text_projection` included; each encoder's keys and no other's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { weightTargets } from '../../src/lora/graph-targets.js';
import { parseLora } from '../../src/lora/lora-file.js';
import { onnx } from '../../src/onnx/onnx.js';
import { encodeSafetensors, parseSafetensors, readSafetensorsFile } from '../../src/weights/safetensors.js';
import { MODELS_DIR } from '../helpers/models.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'lora-sdxl', 'lora');
const PARITY = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sdxl-tiny', 'models', 'sdxl-tiny');
const graph = (file: string) => onnx.ModelProto.decode(readFileSync(file));

describe.each([
  ['torch export (sdxl-tiny parity)', PARITY],
  ['generated (tiny-sdxl)', path.join(MODELS_DIR, 'tiny-sdxl')],
])('SDXL text-encoder LoRA keys: %s', (_label, dir) => {
  const te1 = weightTargets(graph(path.join(dir, 'text_encoder', 'model.onnx')), 'text_encoder');
  const te2 = weightTargets(graph(path.join(dir, 'text_encoder_2', 'model.onnx')), 'text_encoder_2');

  it("kohya lora_te1_ / lora_te2_ and PEFT text_encoder_2. modules each find a weight of their own encoder's shape", () => {
    // The parity model has diffusers' 5 test layers, tiny-sdxl 2: every layer the graph has, every CLIP projection.
    const layers = te1.has('text_model_layers_4_mlp_fc2') ? 5 : 2;
    const tensors: Parameters<typeof encodeSafetensors>[0] = {};
    const pair = (key: string, inF: number, outF: number) => {
      tensors[`${key}.lora_down.weight`] = { dtype: 'F32', shape: [2, inF], data: new Float32Array(2 * inF) };
      tensors[`${key}.lora_up.weight`] = { dtype: 'F32', shape: [outF, 2], data: new Float32Array(2 * outF) };
    };
    const width = te1.get('text_model_layers_0_mlp_fc1')!.dims;
    const [hidden, inner] = [Math.min(...width), Math.max(...width)];
    for (const prefix of ['lora_te1_', 'lora_te2_']) {
      for (let l = 0; l < layers; l++) {
        for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) pair(`${prefix}text_model_encoder_layers_${l}_self_attn_${p}`, hidden, hidden);
        pair(`${prefix}text_model_encoder_layers_${l}_mlp_fc1`, hidden, inner);
        pair(`${prefix}text_model_encoder_layers_${l}_mlp_fc2`, inner, hidden);
      }
    }
    const files = [parseLora(parseSafetensors(encodeSafetensors(tensors)))];
    if (dir === PARITY) for (const f of ['sdxl_kohya', 'sdxl_te2_peft']) files.push(parseLora(readSafetensorsFile(path.join(FIXTURE, `${f}.safetensors`))));
    for (const lora of files) {
      const modules = lora.modules.filter((m) => m.component !== 'unet');
      expect(modules.length).toBeGreaterThan(0);
      for (const m of modules) {
        const target = (m.component === 'text_encoder' ? te1 : te2).get(m.key);
        expect(target, `${m.source} → ${m.key}`).toBeDefined();
        // [in, out] (MatMul) or [out, in] (Gemm transB): the update's in × out either way.
        expect([...target!.dims].sort((a, b) => a - b)).toEqual([m.down.shape[1]!, m.up.shape[0]!].sort((a, b) => a - b));
      }
    }
  });

  it('text_projection is the second encoder only; the old lora_te_ prefix is the first encoder', () => {
    expect(te2.has('text_projection')).toBe(true);
    expect(te1.has('text_projection')).toBe(false);
    const t = { dtype: 'F32' as const, shape: [1, 32], data: new Float32Array(32) };
    const lora = parseLora(
      parseSafetensors(
        encodeSafetensors({
          'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': t,
          'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': { ...t, shape: [32, 1] },
          'lora_te2_text_projection.lora_down.weight': t,
          'lora_te2_text_projection.lora_up.weight': { ...t, shape: [32, 1] },
        }),
      ),
    );
    expect(lora.modules.map((m) => [m.component, m.key])).toEqual([
      ['text_encoder', 'text_model_layers_0_self_attn_q_proj'],
      ['text_encoder_2', 'text_projection'],
    ]);
    expect(te1.has(lora.modules[0]!.key)).toBe(true);
  });
});
