/**
 * Other tools' interfaces on the generated models: the retargeting edits keep the computation, the pooled (shuffle)
 * ControlNet averages the plain one's outputs, the plain UNet has no residual inputs, and each tool's folder holds
 * what that tool writes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixBatch, renameValue, reorderInputs, retypeInput } from '../../scripts/tiny-models/retarget.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { writeToolLayout } from '../../scripts/tiny-models/tool-layouts.js';
import { floats, maxAbsDiff, ort, runGraph, session, wave } from './helpers.js';

const H = 8;
const W = 8;
const D = TINY.text.hiddenSize;

function controlNetFeeds(scale: ort.Tensor): Record<string, ort.Tensor> {
  return {
    sample: new ort.Tensor('float32', wave(4 * H * W), [1, 4, H, W]),
    timestep: new ort.Tensor('float32', Float32Array.of(321), [1]),
    encoder_hidden_states: new ort.Tensor('float32', wave(77 * D, 1), [1, 77, D]),
    controlnet_cond: new ort.Tensor('float32', wave(3 * 64 * 64, 2).map(Math.abs), [1, 3, 64, 64]),
    conditioning_scale: scale,
  };
}

describe('retargeting a graph', () => {
  it('keeps the outputs when inputs are renamed, reordered, retyped and the batch fixed', async () => {
    const format = { ...FP32_FORMAT, conditioningScale: true };
    const plain = buildControlNet(TINY, format, { seed: 5 });
    const edited = buildControlNet(TINY, format, { seed: 5 });
    renameValue(edited, 'sample', 'latent');
    renameValue(edited, 'down_block_res_3', 'fourth');
    reorderInputs(edited, ['conditioning_scale', 'controlnet_cond', 'latent']);
    retypeInput(edited, 'conditioning_scale', 'float64', [1]);
    fixBatch(edited, 1);

    const s = await session(edited);
    expect(s.inputNames).toEqual(['conditioning_scale', 'controlnet_cond', 'latent', 'timestep', 'encoder_hidden_states']);
    expect(s.inputMetadata[0]).toMatchObject({ type: 'float64', shape: [1] });
    expect(s.inputMetadata[2]).toMatchObject({ shape: [1, 4, 'height', 'width'] });
    await s.release();

    const feeds = controlNetFeeds(new ort.Tensor('float32', Float32Array.of(0.75), []));
    const { sample, ...rest } = feeds;
    const [a, b] = await Promise.all([
      runGraph(plain, feeds),
      runGraph(edited, { ...rest, latent: sample!, conditioning_scale: new ort.Tensor('float64', Float64Array.of(0.75), [1]) }),
    ]);
    expect(maxAbsDiff(floats(a.down_block_res_3), floats(b.fourth))).toBe(0);
    expect(maxAbsDiff(floats(a.mid_block_res), floats(b.mid_block_res))).toBe(0);
  });
});

describe('generated variants', () => {
  it('pools each output of a global_pool_conditions ControlNet to the mean over height and width', async () => {
    const format = { ...FP32_FORMAT, conditioningScale: true };
    const feeds = controlNetFeeds(new ort.Tensor('float32', Float32Array.of(1), []));
    const [plain, pooled] = await Promise.all([
      runGraph(buildControlNet(TINY, format, { seed: 9 }), feeds),
      runGraph(buildControlNet(TINY, format, { seed: 9, pooled: true }), feeds),
    ]);
    for (const name of ['down_block_res_0', 'down_block_res_11', 'mid_block_res']) {
      const [b, c, h, w] = plain[name]!.dims as number[];
      expect(pooled[name]!.dims).toEqual([b, c, 1, 1]);
      const full = floats(plain[name]);
      const means = Float32Array.from({ length: c! }, (_, k) => full.subarray(k * h! * w!, (k + 1) * h! * w!).reduce((s, v) => s + v, 0) / (h! * w!));
      expect(maxAbsDiff(floats(pooled[name]), means)).toBeLessThan(1e-6);
    }
  });

  it('builds a plain UNet without the residual inputs', async () => {
    const s = await session(buildUNet(TINY, FP32_FORMAT, { residualInputs: false }));
    expect(s.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states']);
    await s.release();
  });
});

describe('tool layouts', () => {
  const root = mkdtempSync(join(tmpdir(), 'tool-layouts-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes onnx-web: cnet/ beside unet/, control/<name>.onnx without a scale input', async () => {
    const written = writeToolLayout(join(root, 'onnx-web'), 'onnx-web', ['canny']);
    expect(existsSync(join(written.modelDir, 'cnet', 'model.onnx'))).toBe(true);
    expect(written.controlnets.get('canny')).toBe(join(root, 'onnx-web', 'control', 'canny.onnx'));
    const cn = await ort.InferenceSession.create(written.controlnets.get('canny')!);
    expect(cn.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'controlnet_cond']);
    expect(cn.outputNames.slice(0, 3)).toEqual(['down_block_res_samples', 'mid_block_res_sample', '/controlnet_down_blocks.2/Conv_output_0']);
    const unet = await ort.InferenceSession.create(join(written.modelDir, 'cnet', 'model.onnx'));
    expect(unet.inputNames.slice(3)).toEqual([...Array.from({ length: 12 }, (_, i) => `down_block_${i}`), 'mid_block_additional_residual']);
    await Promise.all([cn.release(), unet.release()]);
  });

  it('writes OnnxStack: controlnet/model.onnx is the UNet; ControlNets take half inputs and a double scale', async () => {
    const written = writeToolLayout(join(root, 'onnxstack'), 'onnxstack', ['canny']);
    expect(existsSync(join(written.modelDir, 'scheduler'))).toBe(false);
    const cn = await ort.InferenceSession.create(written.controlnets.get('Canny')!);
    expect(cn.inputMetadata.map((m) => (m.isTensor ? m.type : ''))).toEqual(['float16', 'float16', 'float16', 'float16', 'float64']);
    expect(cn.outputNames.at(-1)).toBe('mid_block_additional_residual');
    await cn.release();
  });

  it('writes axodox: unpaint.json, no tokenizer, float16 UNet I/O with a float16 timestep', async () => {
    const written = writeToolLayout(join(root, 'axodox'), 'axodox', ['canny']);
    expect(existsSync(join(written.modelDir, 'unpaint.json'))).toBe(true);
    expect(existsSync(join(written.modelDir, 'tokenizer'))).toBe(false);
    const unet = await ort.InferenceSession.create(join(written.modelDir, 'controlnet', 'model.onnx'));
    expect(unet.inputMetadata.slice(0, 2)).toMatchObject([
      { name: 'sample', type: 'float16' },
      { name: 'timestep', type: 'float16', shape: ['batch'] },
    ]);
    await unet.release();
  });
});
