/** The embedding layouts read from safetensors bytes: AUTOMATIC1111, diffusers, SDXL, and what is refused. */
import { describe, expect, it } from 'vitest';
import { EmbeddingFileError, parseEmbedding } from '../../src/embeddings/embedding-file.js';
import { encodeSafetensors, parseSafetensors } from '../../src/weights/safetensors.js';

const t = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i) });
const parse = (tensors: Parameters<typeof encodeSafetensors>[0], metadata?: Record<string, string>) =>
  parseEmbedding(parseSafetensors(encodeSafetensors(tensors, metadata)));

describe('embedding files', () => {
  it('AUTOMATIC1111: emb_params or string_to_param.*, the trigger from __metadata__.name when given', () => {
    const a = parse({ emb_params: t([3, 8]) });
    expect(a).toMatchObject({ trigger: null, layout: 'automatic1111', parts: { single: { count: 3, dim: 8 } } });
    expect(a.parts.single!.values[23]).toBe(23);
    expect(parse({ 'string_to_param.*': t([2, 8]) }, { name: 'charturner' })).toMatchObject({ trigger: 'charturner', parts: { single: { count: 2 } } });
  });

  it('diffusers: one tensor named by its token, [dim] or [n, dim]', () => {
    expect(parse({ '<cat-toy>': t([8]) })).toMatchObject({ trigger: '<cat-toy>', layout: 'diffusers', parts: { single: { count: 1, dim: 8 } } });
    expect(parse({ '<x>': t([4, 8]) }).parts.single!.count).toBe(4);
  });

  it('SDXL: clip_l and clip_g', () => {
    expect(parse({ clip_l: t([2, 768]), clip_g: t([2, 1280]) })).toMatchObject({
      layout: 'sdxl',
      parts: { clip_l: { count: 2, dim: 768 }, clip_g: { count: 2, dim: 1280 } },
    });
  });

  it('refuses files in no layout, and tensors of another rank', () => {
    expect(() => parse({ a: t([8]), b: t([8]) })).toThrow(EmbeddingFileError);
    expect(() => parse({})).toThrow(/no tensor/);
    expect(() => parse({ emb_params: t([1, 2, 8]) })).toThrow(/not \[dim\] or \[vectors, dim\]/);
  });
});
