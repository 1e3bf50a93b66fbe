/** The model builders reproduce diffusers' SD 1.5 modules exactly in structure: same parameter counts. */
import { describe, expect, it } from 'vitest';
import { buildTextEncoder } from '../../scripts/tiny-models/sd/clip-text-encoder.js';
import { SD15, TINY } from '../../scripts/tiny-models/sd/config.js';
import { buildControlNet } from '../../scripts/tiny-models/sd/controlnet.js';
import { FP16_FORMAT, FP32_FORMAT } from '../../scripts/tiny-models/sd/formats.js';
import { buildUNet } from '../../scripts/tiny-models/sd/unet.js';
import { downResidualSlots } from '../../scripts/tiny-models/sd/unet-down-path.js';
import { buildVaeDecoder } from '../../scripts/tiny-models/sd/vae-decoder.js';
import { buildVaeEncoder } from '../../scripts/tiny-models/sd/vae-encoder.js';

const structureOnly = { storage: 'none' as const };

describe('SD 1.5 structure (built without weights)', () => {
  // Parameter counts of runwayml/stable-diffusion-v1-5 and lllyasviel/sd-controlnet-* as loaded by diffusers.
  it('UNet2DConditionModel has 859,520,964 parameters', () => {
    expect(buildUNet(SD15, FP32_FORMAT, structureOnly).paramCount).toBe(859_520_964);
  });

  it('ControlNetModel has 361,279,120 parameters', () => {
    expect(buildControlNet(SD15, FP32_FORMAT, structureOnly).paramCount).toBe(361_279_120);
  });

  it('CLIPTextModel (ViT-L/14 text tower, 49408 tokens) has 123,060,480 parameters', () => {
    expect(buildTextEncoder(SD15, FP32_FORMAT, 49408, structureOnly).paramCount).toBe(123_060_480);
  });

  it('AutoencoderKL (encoder + quant_conv + post_quant_conv + decoder) has 83,653,863 parameters', () => {
    const decoder = buildVaeDecoder(SD15, FP32_FORMAT, structureOnly).paramCount;
    const encoder = buildVaeEncoder(SD15, FP32_FORMAT, structureOnly).paramCount;
    expect(decoder + encoder).toBe(83_653_863);
  });

  it('has the 12 down-block residuals of SD', () => {
    const slots = downResidualSlots(SD15.unet).map((s) => [s.channels, s.level]);
    expect(slots).toEqual([
      [320, 0],
      [320, 0],
      [320, 0],
      [320, 1],
      [640, 1],
      [640, 1],
      [640, 2],
      [1280, 2],
      [1280, 2],
      [1280, 3],
      [1280, 3],
      [1280, 3],
    ]);
  });
});

describe('tiny structure', () => {
  it('names parameters by their diffusers state-dict keys', () => {
    const names = new Set(buildUNet(TINY, FP32_FORMAT).initializers.map((i) => i.name));
    for (const key of [
      'conv_in.weight',
      'time_embedding.linear_2.bias',
      'down_blocks.0.resnets.0.time_emb_proj.weight',
      'down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight',
      'down_blocks.2.attentions.0.transformer_blocks.0.ff.net.0.proj.weight',
      'down_blocks.2.downsamplers.0.conv.weight',
      'mid_block.attentions.0.proj_out.bias',
      'up_blocks.0.resnets.2.conv_shortcut.weight',
      'up_blocks.2.upsamplers.0.conv.weight',
      'conv_norm_out.weight',
    ])
      expect(names.has(key), key).toBe(true);
    expect(names.has('up_blocks.3.upsamplers.0.conv.weight')).toBe(false);
    expect(names.has('down_blocks.3.attentions.0.proj_in.weight')).toBe(false); // DownBlock2D: no attention
  });

  it('makes attn1 attend to the text where only_cross_attention is set', () => {
    const shapes = new Map(buildUNet(TINY, FP32_FORMAT).initializers.map((i) => [i.name, i.dims]));
    const attn1Key = (block: number) => shapes.get(`down_blocks.${block}.attentions.0.transformer_blocks.0.attn1.to_k.weight`);
    const text = TINY.unet.crossAttentionDim;
    expect(TINY.unet.onlyCrossAttention).toEqual([true, true, false, false]);
    expect(attn1Key(0)).toEqual([text, TINY.unet.blockOutChannels[0]]);
    expect(attn1Key(2)).toEqual([TINY.unet.blockOutChannels[2], TINY.unet.blockOutChannels[2]]);
  });

  it('stores float16 weights in the fp16 format and the same parameters in both', () => {
    const fp32 = buildUNet(TINY, FP32_FORMAT);
    const fp16 = buildUNet(TINY, FP16_FORMAT);
    expect(fp16.paramCount).toBe(fp32.paramCount);
    const weights = (g: typeof fp32) => g.initializers.filter((i) => !i.name.startsWith('const_'));
    expect(new Set(weights(fp16).map((i) => i.dtype))).toEqual(new Set(['float16']));
    expect(new Set(weights(fp32).map((i) => i.dtype))).toEqual(new Set(['float32']));
  });
});
