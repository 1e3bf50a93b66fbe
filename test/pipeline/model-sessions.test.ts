/** What ModelSessions reports and logs about where its sessions run; warm-up of the allowed sizes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSession, mixedProviders, ModelSessions, type LoadedReport } from '../../src/pipeline/model-sessions.js';
import { generate } from '../../src/pipeline/generate.js';
import { warmUp } from '../../src/pipeline/warmup.js';
import { parseWarmupSizes } from '../../src/pipeline/warmup-sizes.js';
import { scanModels, type ModelCatalog } from '../../src/runtime/catalog.js';
import { resetProviderAvailability } from '../../src/runtime/session.js';
import { MODELS_DIR } from '../helpers/models.js';
import { spec, unit } from './helpers.js';

let catalog: ModelCatalog;
const lines: string[] = [];
const sessions = new ModelSessions({ providers: ['cuda', 'cpu'], deviceId: 0, threads: 1 }, (line) => lines.push(line));

beforeAll(async () => {
  resetProviderAvailability();
  catalog = await scanModels(MODELS_DIR);
});
afterAll(() => sessions.release());

const report = (kind: LoadedReport['kind'], provider: string, fallbacks: LoadedReport['fallbacks'] = []): LoadedReport => ({
  kind,
  path: `/m/${kind}`,
  provider,
  fallbacks,
});

describe('provider reports', () => {
  it("warns when one model's sessions run on different providers, with the reasons", () => {
    expect(mixedProviders([report('unet', 'cuda'), report('controlnet', 'cuda')])).toBeNull();
    const mixed = mixedProviders([
      report('unet', 'cpu', [{ provider: 'cuda', reason: 'CUDA out of memory' }]),
      report('controlnet', 'cuda'),
      report('vae_decoder', 'cuda'),
    ]);
    expect(mixed).toBe(
      'sessions of one model run on different execution providers (unet on cpu; controlnet, vae_decoder on cuda); unet skipped cuda: CUDA out of memory',
    );
  });

  it('logs one line per session saying what runs it, and lists the sessions with their fallbacks', async () => {
    const model = catalog.models.get('tiny-sd15')!;
    await sessions.preload(model, [catalog.controlnets.get('tiny-sd15')!.get('canny')!]);
    const loaded = await sessions.loaded();
    expect(loaded.map((l) => l.kind).sort()).toEqual(['controlnet', 'text_encoder', 'unet', 'vae_decoder', 'vae_encoder']);
    for (const l of loaded) {
      expect(lines).toContain(describeSession(l));
      if (l.provider === 'cpu') expect(l.fallbacks.map((f) => f.provider)).toEqual(['cuda']);
    }
    expect(lines.some((l) => l.startsWith('WARNING'))).toBe(false);
  });
});

describe('warm-up', () => {
  it('parses WARMUP_SIZES, defaulting to 512x512 on GPU providers and none on CPU', () => {
    expect(parseWarmupSizes('512x512, 768x640', 'cpu')).toEqual([
      { width: 512, height: 512 },
      { width: 768, height: 640 },
    ]);
    expect(parseWarmupSizes(undefined, 'cuda')).toEqual([{ width: 512, height: 512 }]);
    expect(parseWarmupSizes('', 'cpu')).toEqual([]);
    expect(parseWarmupSizes('none', 'webgpu')).toEqual([]);
    expect(() => parseWarmupSizes('512x500', 'cpu')).toThrow(/"512x500" is not WIDTHxHEIGHT/);
  });

  it('runs ControlNet, UNet and VAE decoder once per size, then generation at that size works', async () => {
    const model = catalog.models.get('tiny-sd15-fp16')!;
    const canny = catalog.controlnets.get('tiny-sd15-fp16')!.get('canny')!;
    const reports = await warmUp(
      sessions,
      model,
      [canny],
      [
        { width: 64, height: 64 },
        { width: 128, height: 64 },
      ],
      (l) => lines.push(l),
    );
    expect(reports.map((r) => [r.width, r.height])).toEqual([
      [64, 64],
      [128, 64],
    ]);
    for (const r of reports) expect(Object.keys(r.runMs).sort()).toEqual(['controlnet', 'unet', 'vae_decoder']);
    expect(lines.filter((l) => l.startsWith('warm-up 128x64 of tiny-sd15-fp16'))).toHaveLength(1);
    const result = await generate(spec(model, [unit('canny', canny)], { width: 128 }), sessions);
    expect(result.images).toHaveLength(1);
  });
});
