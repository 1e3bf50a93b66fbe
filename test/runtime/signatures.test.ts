/** Role finding on graphs whose names, order and dtypes differ from ours. */
import { describe, expect, it } from 'vitest';
import type * as ortTypes from 'onnxruntime-node';
import { reorderInputs, renameValue, retypeInput } from '../../scripts/tiny-models/retarget.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { orderResiduals } from '../../src/runtime/residual-order.js';
import { checkControlNetFits } from '../../src/pipeline/controlnet-fit.js';
import { residualLayout } from '../../src/pipeline/residual-layout.js';
import { controlNetSignature, SignatureError, unetSignature } from '../../src/runtime/signatures.js';
import { session } from '../tiny-models/helpers.js';

const names = (list: { name: string }[]) => list.map((s) => s.name);
const named = (...list: string[]) => list.map((name) => ({ name }));

describe('orderResiduals', () => {
  it('sorts names that all tell their index (a graph listing them alphabetically)', () => {
    const alphabetical = [
      'down_block_0',
      'down_block_1',
      'down_block_10',
      'down_block_11',
      ...Array.from({ length: 8 }, (_, i) => `down_block_${i + 2}`),
      'mid_block_additional_residual',
    ];
    expect(names(orderResiduals(named(...alphabetical)))).toEqual([
      ...Array.from({ length: 12 }, (_, i) => `down_block_${i}`),
      'mid_block_additional_residual',
    ]);
  });

  it("keeps the graph order when the names do not tell (onnx-web's ControlNet outputs)", () => {
    const onnxWeb = [
      'down_block_res_samples',
      'mid_block_res_sample',
      ...Array.from({ length: 11 }, (_, i) => `/controlnet_down_blocks.${i + 2}/Conv_output_0`),
    ];
    expect(names(orderResiduals(named(...onnxWeb)))).toEqual(onnxWeb);
  });
});

describe('signatures', () => {
  it('finds ControlNet roles by shape and dtype when names and order say nothing', async () => {
    const g = buildControlNet(TINY, { ...FP32_FORMAT, conditioningScale: true });
    renameValue(g, 'sample', 'input_a');
    renameValue(g, 'controlnet_cond', 'input_b');
    renameValue(g, 'encoder_hidden_states', 'input_c');
    renameValue(g, 'conditioning_scale', 'input_d');
    retypeInput(g, 'input_d', 'float64', [1]);
    reorderInputs(g, ['input_b', 'input_d', 'input_a', 'timestep', 'input_c']);
    const sig = controlNetSignature(await session(g));
    expect([sig.sample.name, sig.cond.name, sig.hiddenStates.name, sig.timestep.name, sig.scale?.name]).toEqual([
      'input_a',
      'input_b',
      'input_c',
      'timestep',
      'input_d',
    ]);
    expect(sig.pooled).toBe(false);
    expect(sig.batch).toBeNull();
  });

  it('marks a pooled ControlNet and rejects one that does not fit the UNet', async () => {
    const pooled = controlNetSignature(await session(buildControlNet(TINY, FP32_FORMAT, { pooled: true })));
    expect(pooled.pooled).toBe(true);
    const unet = unetSignature(await session(buildUNet(TINY, FP32_FORMAT)));
    const model = { residuals: residualLayout(unet.residuals, unet.sample) };
    expect(() => checkControlNetFits('tiny', model, pooled, 'shuffle')).not.toThrow();
    const wider = controlNetSignature(await session(buildControlNet({ ...TINY, unet: { ...TINY.unet, blockOutChannels: [16, 32, 32, 48] } }, FP32_FORMAT)));
    expect(() => checkControlNetFits('tiny', model, wider, 'sd21-depth')).toThrow(SignatureError);
    expect(() => checkControlNetFits('tiny', model, wider, 'sd21-depth')).toThrow(
      /ControlNet "sd21-depth" does not fit model "tiny"'s UNet: its residual 10 .* has 48 channels where the UNet takes 32/,
    );
  });

  it('rejects a UNet input it has no role for', async () => {
    const g = buildUNet(TINY, FP32_FORMAT);
    g.input('class_labels', 'int64', ['batch']);
    await expect(session(g).then((s: ortTypes.InferenceSession) => unetSignature(s))).rejects.toThrow(/unsupported extra inputs class_labels:int64/);
  });
});
