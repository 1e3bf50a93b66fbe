import { describe, expect, it } from 'vitest';
import { controlNetRequestSchema, describeIssues } from '../../src/server/contract.js';

const parse = (body: Record<string, unknown>) => controlNetRequestSchema.safeParse(body);
const errorOf = (body: Record<string, unknown>) => {
  const r = parse(body);
  expect(r.success).toBe(false);
  return describeIssues(r.error!);
};

describe('controlnet request contract', () => {
  it('coerces the hosted API loose types: numeric strings, yes/no, null as default', () => {
    const r = parse({
      key: 'k',
      width: '512',
      height: 768,
      samples: '2',
      num_inference_steps: '30',
      guidance_scale: '7.5',
      strength: 0.55,
      auto_hint: 'yes',
      guess_mode: 'no',
      negative_prompt: null,
      seed: '42',
      base64: true,
      controlnet_conditioning_scale: '0.5,1',
      track_id: 7,
    });
    expect(r.success).toBe(true);
    const d = r.data!;
    expect([d.width, d.height, d.samples, d.num_inference_steps, d.guidance_scale, d.strength]).toEqual([512, 768, 2, 30, 7.5, 0.55]);
    expect([d.auto_hint, d.guess_mode, d.base64]).toEqual([true, false, true]);
    // null stays null (not sent): SD encodes "", SDXL zeroes it under force_zeros_for_empty_prompt.
    expect(d.negative_prompt).toBeNull();
    expect(d.seed).toBe(42n);
    expect(d.controlnet_conditioning_scale).toEqual([0.5, 1]);
    expect(d.track_id).toBe(7);
  });

  it('applies defaults for absent and null fields', () => {
    const d = parse({ key: 'k', width: null, seed: null, scheduler: null })!.data!;
    expect([d.width, d.height, d.samples, d.num_inference_steps, d.guidance_scale, d.strength, d.clip_skip]).toEqual([512, 512, 1, 30, 7.5, 1, 1]);
    expect(d.seed).toBeNull();
    expect(d.scheduler).toBe('UniPCMultistepScheduler');
  });

  it.each([
    [{ width: '513' }, 'width: must be an integer from 64 to 1024 and a multiple of 8, got "513"'],
    [{ height: 2048 }, 'height: must be an integer from 64 to 1024 and a multiple of 8, got 2048'],
    [{ samples: 5 }, 'samples: must be an integer from 1 to 4, got 5'],
    [{ num_inference_steps: '0' }, 'num_inference_steps: must be an integer from 1 to 50, got "0"'],
    [{ num_inference_steps: 'many' }, 'num_inference_steps: must be an integer from 1 to 50, got "many"'],
    [{ guidance_scale: 25 }, 'guidance_scale: must be a number from 1 to 20, got 25'],
    [{ strength: -0.1 }, 'strength: must be a number from 0 to 1, got -0.1'],
    [{ clip_skip: 9 }, 'clip_skip: must be an integer from 1 to 8, got 9'],
    [{ auto_hint: 'maybe' }, 'auto_hint: must be "yes" or "no", got "maybe"'],
    [{ seed: -1 }, 'seed: must be null or an integer from 0 to 18446744073709551615, got -1'],
    [{ seed: '1.5' }, 'seed: must be null or an integer from 0 to 18446744073709551615, got "1.5"'],
    [
      { controlnet_conditioning_scale: '1,x' },
      'controlnet_conditioning_scale: must be a number from 0 to 20, or a comma-separated list of such numbers, got "1,x"',
    ],
    [{ prompt: { text: 'x' } }, 'prompt: must be a string'],
    [{ width: [512] }, 'width: must be an integer from 64 to 1024 and a multiple of 8'],
    [{ control_images: 'x' }, 'control_images: must be an array of image URLs or base64 strings'],
  ])('rejects %j with a message naming the field and the limit', (body, message) => {
    expect(errorOf({ key: 'k', ...body })).toContain(message);
  });

  it('reports every bad field at once', () => {
    const msg = errorOf({ key: 'k', width: 7, samples: 0 });
    expect(msg).toMatch(/^width: .*; samples: /);
  });

  it('keeps unknown fields so the route can report them', () => {
    expect(parse({ key: 'k', panorama: 'yes' }).data).toHaveProperty('panorama', 'yes');
  });
});
