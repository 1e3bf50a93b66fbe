/**
 * The tiny SD-1.x models in onnxruntime-node: I/O conventions of both formats, shapes at two latent sizes (one not
 * a multiple of 8), ControlNet/UNet wiring, live conditioning paths, and fp16 against fp32.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16 } from '../../src/tensor/float16.js';
import type { GraphBuilder } from '../../src/onnx/graph.js';
import { buildTextEncoder } from '../../scripts/tiny-models/sd/clip-text-encoder.js';
import { TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP16_FORMAT, FP32_FORMAT, type ExportFormat } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { downResidualSlots } from '../../scripts/tiny-models/sd/unet-down-path.js';
import { buildVaeDecoder } from '../../scripts/tiny-models/sd/vae-decoder.js';
import { buildVaeEncoder } from '../../scripts/tiny-models/sd/vae-encoder.js';
import { allFinite, floats, maxAbs, maxAbsDiff, ort, session, wave } from './helpers.js';

const VOCAB = 300;
const D = TINY.text.hiddenSize;
const RESIDUALS = downResidualSlots(TINY.unet);

type Sessions = Record<'text' | 'unet' | 'controlnet' | 'vaeDecoder' | 'vaeEncoder', ort.InferenceSession>;

async function sessions(format: ExportFormat): Promise<Sessions> {
  const graphs: Record<keyof Sessions, GraphBuilder> = {
    text: buildTextEncoder(TINY, format, VOCAB),
    unet: buildUNet(TINY, format),
    controlnet: buildControlNet(TINY, format, { seed: 77 }),
    vaeDecoder: buildVaeDecoder(TINY, format),
    vaeEncoder: buildVaeEncoder(TINY, format),
  };
  const entries = await Promise.all(Object.entries(graphs).map(async ([k, g]) => [k, await session(g)] as const));
  return Object.fromEntries(entries) as Sessions;
}

let fp32: Sessions;
let fp16: Sessions;
beforeAll(async () => {
  [fp32, fp16] = await Promise.all([sessions(FP32_FORMAT), sessions(FP16_FORMAT)]);
});

/** A float tensor in the format's dtype (float16 as bits). */
function floatTensor(format: ExportFormat, data: Float32Array, dims: number[]): ort.Tensor {
  return format.float === 'float32' ? new ort.Tensor('float32', data, dims) : new ort.Tensor('float16', float32ToFloat16(data), dims);
}

/** Output values as float32 whatever the dtype. */
function values(t: ort.Tensor | undefined): Float32Array {
  if (t === undefined) throw new Error('missing output');
  return t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : floats(t);
}

function timestep(format: ExportFormat, t: number, batch: number): ort.Tensor {
  return format.timestep.dtype === 'float32'
    ? new ort.Tensor('float32', new Float32Array(batch).fill(t), [batch])
    : new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), []);
}

interface StepInputs {
  sample: Float32Array;
  context: Float32Array;
  cond: Float32Array;
}

function stepInputs(batch: number, h: number, w: number, phase = 0): StepInputs {
  return {
    sample: wave(batch * 4 * h * w, phase),
    context: wave(batch * 77 * D, phase + 1),
    cond: wave(batch * 3 * 64 * h * w, phase + 2).map((v) => (v > 0 ? 1 : -1)),
  };
}

function controlnetFeeds(format: ExportFormat, x: StepInputs, batch: number, h: number, w: number, t = 500, scale = 1): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    sample: floatTensor(format, x.sample, [batch, 4, h, w]),
    timestep: timestep(format, t, batch),
    encoder_hidden_states: floatTensor(format, x.context, [batch, 77, D]),
    controlnet_cond: floatTensor(format, x.cond, [batch, 3, 8 * h, 8 * w]),
  };
  if (format.conditioningScale) feeds.conditioning_scale = new ort.Tensor('float32', Float32Array.of(scale), []);
  return feeds;
}

function levelSize(size: number, level: number): number {
  let s = size;
  for (let i = 0; i < level; i++) s = Math.ceil(s / 2);
  return s;
}

/** UNet feeds with the given residuals (zeros when absent). */
function unetFeeds(
  format: ExportFormat,
  x: StepInputs,
  batch: number,
  h: number,
  w: number,
  residuals?: Record<string, ort.Tensor>,
  t = 500,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    sample: floatTensor(format, x.sample, [batch, 4, h, w]),
    timestep: timestep(format, t, batch),
    encoder_hidden_states: floatTensor(format, x.context, [batch, 77, D]),
  };
  const zeros = (c: number, level: number) => {
    const dims = [batch, c, levelSize(h, level), levelSize(w, level)];
    return floatTensor(format, new Float32Array(dims.reduce((a, b) => a * b)), dims);
  };
  RESIDUALS.forEach((slot, i) => (feeds[`down_block_res_${i}`] = residuals?.[`down_block_res_${i}`] ?? zeros(slot.channels, slot.level)));
  feeds.mid_block_res = residuals?.mid_block_res ?? zeros(32, 3);
  return feeds;
}

function describeIo(meta: readonly ort.InferenceSession.ValueMetadata[]): [string, string, readonly (number | string)[]][] {
  return meta.map((m) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
    return [m.name, m.type, m.shape];
  });
}

describe('I/O conventions', () => {
  const residualDims = RESIDUALS.map((s) => [
    'batch',
    s.channels,
    s.level === 0 ? 'height' : `ceil(height/${2 ** s.level})`,
    s.level === 0 ? 'width' : `ceil(width/${2 ** s.level})`,
  ]);
  const midDims = ['batch', 32, 'ceil(height/8)', 'ceil(width/8)'];

  for (const [format, get] of [
    [FP32_FORMAT, () => fp32],
    [FP16_FORMAT, () => fp16],
  ] as const) {
    const fl = format.float;
    it(`${format.variant}: text encoder`, () => {
      expect(describeIo(get().text.inputMetadata)).toEqual([['input_ids', format.inputIds, ['batch', 77]]]);
      expect(describeIo(get().text.outputMetadata)).toEqual([
        ['last_hidden_state', fl, ['batch', 77, D]],
        ['pooler_output', fl, ['batch', D]],
        ['normed_hidden_states.0', fl, ['batch', 77, D]],
        ['normed_hidden_states.1', fl, ['batch', 77, D]],
        ['normed_hidden_states.2', fl, ['batch', 77, D]],
      ]);
    });

    it(`${format.variant}: UNet takes sample, timestep, text, 12 down residuals, the mid residual`, () => {
      const ts = format.timestep.rank === 1 ? ['batch'] : [];
      expect(describeIo(get().unet.inputMetadata)).toEqual([
        ['sample', fl, ['batch', 4, 'height', 'width']],
        ['timestep', format.timestep.dtype, ts],
        ['encoder_hidden_states', fl, ['batch', 77, D]],
        ...residualDims.map((dims, i) => [`down_block_res_${i}`, fl, dims]),
        ['mid_block_res', fl, midDims],
      ]);
      expect(describeIo(get().unet.outputMetadata)).toEqual([['out_sample', fl, ['batch', 4, 'height', 'width']]]);
    });

    it(`${format.variant}: ControlNet outputs exactly the UNet's residual inputs`, () => {
      const inputs = describeIo(get().controlnet.inputMetadata);
      expect(inputs.map(([name]) => name)).toEqual([
        'sample',
        'timestep',
        'encoder_hidden_states',
        'controlnet_cond',
        ...(format.conditioningScale ? ['conditioning_scale'] : []),
      ]);
      expect(inputs[3]).toEqual(['controlnet_cond', fl, ['batch', 3, 'image_height', 'image_width']]);
      if (format.conditioningScale) expect(inputs[4]).toEqual(['conditioning_scale', 'float32', []]);
      expect(describeIo(get().controlnet.outputMetadata)).toEqual(describeIo(get().unet.inputMetadata).slice(3));
    });

    it(`${format.variant}: VAE decoder and encoder`, () => {
      expect(describeIo(get().vaeDecoder.inputMetadata)).toEqual([['latent_sample', fl, ['batch', 4, 'height', 'width']]]);
      expect(describeIo(get().vaeDecoder.outputMetadata)).toEqual([['sample', fl, ['batch', 3, 'image_height', 'image_width']]]);
      expect(describeIo(get().vaeEncoder.inputMetadata)).toEqual([['sample', fl, ['batch', 3, 'image_height', 'image_width']]]);
      const out =
        format.vaeEncoderOutput === 'latent_parameters'
          ? ['latent_parameters', fl, ['batch', 8, 'height', 'width']]
          : ['latent_sample', fl, ['batch', 4, 'height', 'width']];
      expect(describeIo(get().vaeEncoder.outputMetadata)).toEqual([out]);
    });
  }

  it('the two formats differ where real exports differ', () => {
    expect([FP32_FORMAT.inputIds, FP16_FORMAT.inputIds]).toEqual(['int32', 'int64']);
    expect([FP32_FORMAT.timestep, FP16_FORMAT.timestep]).toEqual([
      { dtype: 'float32', rank: 1 },
      { dtype: 'int64', rank: 0 },
    ]);
  });
});

describe('ControlNet + UNet step', () => {
  for (const [h, w] of [
    [5, 7],
    [8, 8],
  ] as const) {
    it(`runs at latent ${h}x${w} (${8 * h}x${8 * w} pixels), batch 2, with the ControlNet's residuals`, async () => {
      const x = stepInputs(2, h, w);
      const residuals = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 2, h, w));
      RESIDUALS.forEach((slot, i) => {
        expect(residuals[`down_block_res_${i}`]!.dims).toEqual([2, slot.channels, levelSize(h, slot.level), levelSize(w, slot.level)]);
      });
      expect(residuals.mid_block_res!.dims).toEqual([2, 32, levelSize(h, 3), levelSize(w, 3)]);
      for (const t of Object.values(residuals)) expect(allFinite(values(t))).toBe(true);

      const withControl = (await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 2, h, w, residuals))).out_sample!;
      const without = (await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 2, h, w))).out_sample!;
      expect(withControl.dims).toEqual([2, 4, h, w]);
      expect(allFinite(values(withControl))).toBe(true);
      expect(maxAbs(values(withControl))).toBeLessThan(20);
      expect(maxAbsDiff(values(withControl), values(without))).toBeGreaterThan(1e-2);
    });
  }

  it('cross-attention is live: the text changes out_sample', async () => {
    const x = stepInputs(1, 5, 7);
    const other = { ...x, context: wave(77 * D, 9) };
    const a = values((await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 1, 5, 7))).out_sample);
    const b = values((await fp32.unet.run(unetFeeds(FP32_FORMAT, other, 1, 5, 7))).out_sample);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('the timestep changes out_sample', async () => {
    const x = stepInputs(1, 5, 7);
    const a = values((await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 1, 5, 7, undefined, 900))).out_sample);
    const b = values((await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 1, 5, 7, undefined, 100))).out_sample);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('the hint changes the ControlNet outputs', async () => {
    const x = stepInputs(1, 5, 7);
    const flipped = { ...x, cond: x.cond.map((v) => -v) };
    const a = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 1, 5, 7));
    const b = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, flipped, 1, 5, 7));
    for (const name of ['down_block_res_0', 'down_block_res_11', 'mid_block_res']) {
      expect(maxAbsDiff(values(a[name]), values(b[name])), name).toBeGreaterThan(1e-3);
    }
  });

  it('conditioning_scale multiplies every output: 0 gives zeros', async () => {
    const x = stepInputs(1, 5, 7);
    const one = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 1, 5, 7, 500, 1));
    const zero = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 1, 5, 7, 500, 0));
    const half = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 1, 5, 7, 500, 0.5));
    expect(Object.keys(zero)).toHaveLength(13);
    for (const name of Object.keys(one)) {
      expect(maxAbs(values(zero[name])), name).toBe(0);
      expect(maxAbs(values(one[name])), name).toBeGreaterThan(1e-3);
      expect(
        maxAbsDiff(
          values(half[name]),
          values(one[name]).map((v) => v / 2),
        ),
        name,
      ).toBeLessThan(1e-6);
    }
  });

  it('keeps batch items independent; a scalar int64 timestep serves the whole batch', async () => {
    const one = stepInputs(1, 5, 7);
    const two: StepInputs = {
      sample: Float32Array.from([...one.sample, ...one.sample]),
      context: Float32Array.from([...one.context, ...one.context]),
      cond: Float32Array.from([...one.cond, ...one.cond]),
    };
    for (const [format, s] of [
      [FP32_FORMAT, fp32],
      [FP16_FORMAT, fp16],
    ] as const) {
      const single = values((await s.unet.run(unetFeeds(format, one, 1, 5, 7))).out_sample);
      const pair = values((await s.unet.run(unetFeeds(format, two, 2, 5, 7))).out_sample);
      expect(maxAbsDiff(pair.subarray(0, single.length), single)).toBeLessThan(1e-5);
      expect(maxAbsDiff(pair.subarray(single.length), single)).toBeLessThan(1e-5);
    }
  });
});

describe('text encoder', () => {
  const ids = (format: ExportFormat, rows: number[][]) => {
    const flat = rows.flatMap((r) => [...r, ...new Array<number>(77 - r.length).fill(VOCAB - 1)]);
    return format.inputIds === 'int32'
      ? new ort.Tensor('int32', Int32Array.from(flat), [rows.length, 77])
      : new ort.Tensor(
          'int64',
          BigInt64Array.from(flat, (v) => BigInt(v)),
          [rows.length, 77],
        );
  };

  it('pools the state at the end-of-text token (the first largest id)', async () => {
    const out = await fp32.text.run({
      input_ids: ids(FP32_FORMAT, [
        [VOCAB - 2, 5, 6, 7],
        [VOCAB - 2, 9],
      ]),
    });
    const last = values(out.last_hidden_state);
    const pooled = values(out.pooler_output);
    expect(out.last_hidden_state!.dims).toEqual([2, 77, D]);
    expect(maxAbsDiff(pooled.subarray(0, D), last.subarray(4 * D, 5 * D))).toBe(0);
    expect(maxAbsDiff(pooled.subarray(D), last.subarray((77 + 2) * D, (77 + 3) * D))).toBe(0);
  });

  it('is causal: a token changes only its own and later positions', async () => {
    const a = values((await fp32.text.run({ input_ids: ids(FP32_FORMAT, [[VOCAB - 2, 5, 6, 7]]) })).last_hidden_state);
    const b = values((await fp32.text.run({ input_ids: ids(FP32_FORMAT, [[VOCAB - 2, 5, 8, 7]]) })).last_hidden_state);
    expect(maxAbsDiff(a.subarray(0, 2 * D), b.subarray(0, 2 * D))).toBe(0);
    expect(maxAbsDiff(a.subarray(2 * D, 3 * D), b.subarray(2 * D, 3 * D))).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(a.subarray(3 * D, 4 * D), b.subarray(3 * D, 4 * D))).toBeGreaterThan(1e-2);
  });

  it('fp16 (int64 ids) agrees with fp32 (int32 ids)', async () => {
    const rows = [[VOCAB - 2, 11, 12, 13, 14]];
    const a = await fp32.text.run({ input_ids: ids(FP32_FORMAT, rows) });
    const b = await fp16.text.run({ input_ids: ids(FP16_FORMAT, rows) });
    // LayerNorm output is ~unit scale; weights and outputs are rounded to float16 (relative step 2^-11).
    expect(maxAbsDiff(values(a.last_hidden_state), values(b.last_hidden_state))).toBeLessThan(0.01);
    expect(maxAbsDiff(values(a.pooler_output), values(b.pooler_output))).toBeLessThan(0.01);
  });
});

describe('VAE', () => {
  it('decodes latent 5x7 to 40x56 pixels, mostly inside [-1, 1]', async () => {
    const out = (
      await fp32.vaeDecoder.run({
        latent_sample: floatTensor(
          FP32_FORMAT,
          wave(4 * 35).map((v) => 3 * v),
          [1, 4, 5, 7],
        ),
      })
    ).sample!;
    expect(out.dims).toEqual([1, 3, 40, 56]);
    const px = values(out);
    expect(allFinite(px)).toBe(true);
    const inside = px.filter((v) => Math.abs(v) <= 1).length / px.length;
    expect(inside).toBeGreaterThan(0.95);
  });

  it('encodes 40x56 pixels to mean and logvar at 5x7; the 4-channel output is the mean', async () => {
    const image = wave(3 * 40 * 56, 4);
    const params = (await fp32.vaeEncoder.run({ sample: floatTensor(FP32_FORMAT, image, [1, 3, 40, 56]) })).latent_parameters!;
    const mean = (await fp16.vaeEncoder.run({ sample: floatTensor(FP16_FORMAT, image, [1, 3, 40, 56]) })).latent_sample!;
    expect(params.dims).toEqual([1, 8, 5, 7]);
    expect(mean.dims).toEqual([1, 4, 5, 7]);
    const p = values(params);
    expect(allFinite(p)).toBe(true);
    expect(maxAbsDiff(values(mean), p.subarray(0, 4 * 35))).toBeLessThan(0.01); // fp16 weights and I/O
  });
});

// Measured on these inputs: ~1.3e-3 of the largest value for ControlNet and UNet outputs, ~2e-3 absolute for the
// text encoder and VAE; the bounds leave about 4x room.
describe('fp16 against fp32', () => {
  it('ControlNet and UNet agree within float16 rounding on the same inputs', async () => {
    const x = stepInputs(2, 5, 7);
    const a = await fp32.controlnet.run(controlnetFeeds(FP32_FORMAT, x, 2, 5, 7));
    const b = await fp16.controlnet.run(controlnetFeeds(FP16_FORMAT, x, 2, 5, 7));
    for (const name of Object.keys(a)) {
      const ref = values(a[name]);
      expect(maxAbsDiff(values(b[name]), ref) / maxAbs(ref), name).toBeLessThan(5e-3);
    }
    const ua = values((await fp32.unet.run(unetFeeds(FP32_FORMAT, x, 2, 5, 7, a))).out_sample);
    const ub = values((await fp16.unet.run(unetFeeds(FP16_FORMAT, x, 2, 5, 7, b))).out_sample);
    expect(maxAbsDiff(ua, ub) / maxAbs(ua)).toBeLessThan(5e-3);
  });

  it('the VAE decoder agrees within float16 rounding', async () => {
    const z = wave(4 * 35, 5).map((v) => 3 * v);
    const a = values((await fp32.vaeDecoder.run({ latent_sample: floatTensor(FP32_FORMAT, z, [1, 4, 5, 7]) })).sample);
    const b = values((await fp16.vaeDecoder.run({ latent_sample: floatTensor(FP16_FORMAT, z, [1, 4, 5, 7]) })).sample);
    expect(maxAbsDiff(a, b)).toBeLessThan(5e-3);
  });
});
