/**
 * The playground's Customise section reading `get_all_models` (src/playground/customise-choices.js, the module the
 * browser gets, no DOM): the real server's listing, and listings of other installs (embeddings, several upscalers).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAYGROUND_DIR } from '../../src/server/routes/playground.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

type Listing = {
  models: { model_id: string; model_type: string; trigger_word?: string }[];
  upscalers?: { name: string; scale: number | null }[];
  safety_checker?: { shared: boolean; models: string[] };
};
type Choices = {
  loras: string[];
  embeddings: { id: string; trigger: string }[];
  upscale: { options: { value: string; label: string }[]; installed: boolean | null };
  safetyChecker: { shared: boolean; models: string[] } | null;
};
const { customiseChoices, customiseFields, safetyCheckerInstalled, withTrigger, withoutTrigger } = (await import(
  pathToFileURL(path.join(PLAYGROUND_DIR, 'customise-choices.js')).href
)) as {
  customiseChoices: (listing: Listing) => Choices;
  customiseFields: (picked: {
    loras: { id: string; strength: string }[];
    embeddings: string[];
    upscale: string;
    safetyChecker: boolean;
  }) => Record<string, string>;
  safetyCheckerInstalled: (choices: Choices, modelId: string) => boolean | null;
  withTrigger: (prompt: string, word: string) => string;
  withoutTrigger: (prompt: string, word: string) => string;
};

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("the playground's Customise choices", () => {
  it("reads the built-in server's listing: no LoRA or embeddings, tiny-x2 for 2× only, no safety checker", async () => {
    const res = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/get_all_models', payload: { key: API_KEY } });
    expect(res.statusCode).toBe(200);
    const choices = customiseChoices(res.json());
    expect(choices).toEqual({
      loras: [],
      embeddings: [],
      upscale: {
        options: [
          { value: 'no', label: 'no' },
          { value: 'yes', label: 'yes: 2× (tiny-x2)' },
        ],
        installed: true,
      },
      safetyChecker: { shared: false, models: [] },
    });
    expect(safetyCheckerInstalled(choices, 'tiny-sd15')).toBe(false);
  });

  it('lists LoRAs and embeddings (trigger word: the listed one, else the id), the factors the upscalers allow, checkers per model', () => {
    const choices = customiseChoices({
      models: [
        { model_id: 'tiny-sd15', model_type: 'stable-diffusion' },
        { model_id: 'b_style', model_type: 'lora' },
        { model_id: 'a_detail', model_type: 'lora' },
        { model_id: 'easynegative', model_type: 'embeddings' },
        { model_id: 'cat', model_type: 'textual_inversion', trigger_word: '<cat-toy>' },
      ],
      upscalers: [
        { name: 'esrgan', scale: 4 },
        { name: 'tiny-x2', scale: 2 },
      ],
      safety_checker: { shared: false, models: ['tiny-sd15'] },
    });
    expect(choices.loras).toEqual(['b_style', 'a_detail']);
    expect(choices.embeddings).toEqual([
      { id: 'easynegative', trigger: 'easynegative' },
      { id: 'cat', trigger: '<cat-toy>' },
    ]);
    expect(choices.upscale.options.map((o) => o.label)).toEqual(['no', 'yes: 2× (tiny-x2)', '4× (esrgan)']);
    expect(safetyCheckerInstalled(choices, 'tiny-sd15')).toBe(true);
    expect(safetyCheckerInstalled(choices, 'tiny-sdxl')).toBe(false);
    // A 4× network alone serves 2× resized down, as the server picks it; one of unknown scale serves both.
    expect(customiseChoices({ models: [], upscalers: [{ name: 'x4', scale: 4 }] }).upscale.options.map((o) => o.label)).toEqual([
      'no',
      'yes: 2× (x4, 4× resized)',
      '4× (x4)',
    ]);
    expect(customiseChoices({ models: [], upscalers: [{ name: 'any', scale: null }] }).upscale.options.map((o) => o.value)).toEqual(['no', 'yes', '4']);
    expect(customiseChoices({ models: [], upscalers: [] }).upscale).toEqual({ options: [{ value: 'no', label: 'no' }], installed: false });
    // A listing that does not say: the contract's values, and the server's 400 tells.
    const silent = customiseChoices({ models: [] });
    expect(silent.upscale.options.map((o) => o.value)).toEqual(['no', 'yes', '4']);
    expect(safetyCheckerInstalled(silent, 'tiny-sd15')).toBeNull();
    expect(safetyCheckerInstalled(customiseChoices({ models: [], safety_checker: { shared: true, models: [] } }), 'any')).toBe(true);
  });

  it("sends the contract's comma lists, one strength per LoRA, and leaves out what is not picked", () => {
    expect(
      customiseFields({
        loras: [
          { id: 'a', strength: '0.8' },
          { id: 'b', strength: ' ' },
        ],
        embeddings: ['easynegative', 'cat'],
        upscale: '4',
        safetyChecker: true,
      }),
    ).toEqual({ lora_model: 'a,b', lora_strength: '0.8,1', embeddings_model: 'easynegative,cat', upscale: '4', safety_checker: 'yes' });
    expect(customiseFields({ loras: [], embeddings: [], upscale: '', safetyChecker: false })).toEqual({ upscale: 'no', safety_checker: 'no' });
  });

  it('adds a trigger word to the prompt once, and takes it out again', () => {
    expect(withTrigger('a photo of a cat', '<cat-toy>')).toBe('a photo of a cat, <cat-toy>');
    expect(withTrigger('a photo of a <cat-toy>, sitting', '<cat-toy>')).toBe('a photo of a <cat-toy>, sitting');
    expect(withTrigger('a photo,', 'x')).toBe('a photo, x');
    expect(withTrigger('  ', 'x')).toBe('x');
    expect(withoutTrigger('a photo of a cat, <cat-toy>', '<cat-toy>')).toBe('a photo of a cat');
    expect(withoutTrigger('<cat-toy>, on a sofa', '<cat-toy>')).toBe('on a sofa');
    expect(withoutTrigger('a (cat), <cat-toy>2 <cat-toy>', '<cat-toy>')).toBe('a (cat), <cat-toy>2');
    expect(withoutTrigger('x.y', 'x.y')).toBe('');
  });
});
