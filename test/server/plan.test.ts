import { describe, expect, it } from 'vitest';
import { controlNetRequestSchema } from '../../src/server/contract.js';
import { planGeneration } from '../../src/server/plan.js';
import type { ModelCatalog } from '../../src/runtime/catalog.js';
import type { BaseModelFiles } from '../../src/domain/index.js';

/** A catalog as the server reads it from disk: one model, ControlNets named after a type and one that is not. */
const model = { id: 'sd', dir: 'sd', tokenizerDir: 't', textEncoder: 'te', unet: 'u', vaeDecoder: 'vd', vaeEncoder: 've' } as BaseModelFiles;
const catalog: ModelCatalog = {
  models: new Map([['sd', model]]),
  vaes: new Map(),
  controlnets: new Map([
    [
      'sd',
      new Map([
        ['canny', 'c.onnx'],
        ['depth', 'd.onnx'],
        ['my-lines', 'l.onnx'],
        ['qr', 'q.onnx'],
      ]),
    ],
  ]),
  aliases: new Map(),
  rejected: [],
};

const plan = (body: Record<string, unknown>) => {
  const raw = { key: 'k', model_id: 'sd', init_image: 'https://example.test/a.png', ...body };
  return planGeneration(controlNetRequestSchema.parse(raw), raw, catalog, null);
};
const types = (body: Record<string, unknown>) => plan(body).units.map((u) => u.type);

describe('controlnet_type per ControlNet', () => {
  it('auto_hint "no": the image is the hint, so ControlNets need no type', () => {
    expect(types({ controlnet_model: 'my-lines,qr', auto_hint: 'no' })).toEqual(['none', 'none']);
    expect(types({ controlnet_model: 'canny,qr', auto_hint: 'no' })).toEqual(['canny', 'none']);
    expect(types({ controlnet_model: 'qr' })).toEqual(['none']);
  });

  it('auto_hint "yes": an untyped ControlNet not named after a type is refused, naming it', () => {
    expect(() => plan({ controlnet_model: 'canny,qr', auto_hint: 'yes' })).toThrow(
      /^controlnet_type: give a controlnet_type for ControlNet "qr" \(auto_hint "yes" computes its hint\); one of: canny/,
    );
  });

  it('one type given for several ControlNets applies to all of them', () => {
    expect(types({ controlnet_model: 'my-lines,qr', controlnet_type: 'canny', auto_hint: 'yes' })).toEqual(['canny', 'canny']);
    expect(types({ controlnet_model: 'canny,depth', controlnet_type: 'canny', auto_hint: 'yes' })).toEqual(['canny', 'canny']);
  });

  it('a list is per position; missing entries fall back to the ControlNet name', () => {
    expect(types({ controlnet_model: 'my-lines,depth', controlnet_type: 'mlsd,depth', auto_hint: 'yes' })).toEqual(['mlsd', 'depth']);
    expect(types({ controlnet_model: 'qr,canny,depth', controlnet_type: 'scribble,canny', auto_hint: 'yes' })).toEqual(['scribble', 'canny', 'depth']);
  });

  it('an unknown type is refused even with auto_hint "no", and so are more types than ControlNets', () => {
    expect(() => plan({ controlnet_model: 'qr', controlnet_type: 'edges', auto_hint: 'no' })).toThrow(
      /^controlnet_type: unknown controlnet_type "edges"; one of: canny/,
    );
    expect(() => plan({ controlnet_model: 'qr', controlnet_type: 'canny,depth' })).toThrow(/^controlnet_type: 2 types given for 1 ControlNet\(s\)/);
  });
});
