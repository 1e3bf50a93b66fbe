/**
 * Parity with diffusers over HTTP: the real server (Fastify on a real socket, job service, inference worker thread,
 * onnxruntime) serves the exported tiny diffusers folders of test/fixtures/parity/ — `sd-tiny` (SD 1.5-style) and
 * `sd2-tiny` (SD 2.x-style: v-prediction in the scheduler config, "!" padding, linear projections) — and every
 * case's request gives diffusers' images within 1/255 per pixel (cases.json; scripts/reference/make-parity.py made
 * them with diffusers 0.27.2's StableDiffusionControlNet{,Img2Img,Inpaint}Pipeline). Prints the table
 * case → max |Δ|.
 *
 * One version difference is bridged, not hidden: diffusers < 0.28 had no `final_sigmas_type` in UniPC and always
 * ended at σ_min; from 0.28 the default is "zero", which this server follows (it matches diffusers 0.35). For a
 * fixture made with diffusers < 0.28, the UniPC cases run on a copy of the model whose scheduler config adds
 * `final_sigmas_type: "sigma_min"` — the same computation diffusers 0.27.2 ran (with the folder's config alone,
 * sd2-tiny's UniPC case is 3/255 off).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startTestServer } from '../helpers/server.js';

const PARITY = path.join(import.meta.dirname, '..', 'fixtures', 'parity');
const FIXTURES = ['sd-tiny', 'sd2-tiny'];

interface Fixture {
  model_id: string;
  versions: { diffusers: string };
  cases: ParityCase[];
}

interface ParityCase {
  name: string;
  request: Record<string, unknown>;
  expected: string[];
}

/** diffusers before 0.28 ended UniPC at σ_min: the model id that reproduces it with this server (see above). */
function modelFor(fx: Fixture, c: ParityCase): string {
  const [major, minor] = fx.versions.diffusers.split('.').map(Number) as [number, number];
  const old = major === 0 && minor < 28;
  return old && c.request.scheduler === 'UniPCMultistepScheduler' ? `${fx.model_id}-unipc-sigma-min` : fx.model_id;
}

/** A copy of model `id` as `<id>-<suffix>` whose scheduler config has `patch` on top. */
function variant(root: string, id: string, suffix: string, patch: Record<string, unknown>): void {
  const folder = path.join(root, `${id}-${suffix}`);
  cpSync(path.join(root, id), folder, { recursive: true });
  const config = path.join(folder, 'scheduler', 'scheduler_config.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), ...patch }));
}

const IMAGE_FIELDS = ['init_image', 'mask_image', 'control_image'];

/** The case's request with the test key and its image files as data: URIs. */
function body(dir: string, fx: Fixture, c: ParityCase): Record<string, unknown> {
  const dataUri = (file: string) => `data:image/png;base64,${readFileSync(path.join(dir, file)).toString('base64')}`;
  const out: Record<string, unknown> = { ...c.request, key: API_KEY, model_id: modelFor(fx, c) };
  for (const f of IMAGE_FIELDS) if (typeof out[f] === 'string') out[f] = dataUri(out[f] as string);
  if (Array.isArray(out.control_images)) out.control_images = (out.control_images as string[]).map(dataUri);
  return out;
}

async function rgb(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width, height: info.height };
}

function maxAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const table: string[] = [];
afterAll(() => {
  if (table.length > 0) console.log(['diffusers parity: case → max |Δ| (0..255)', ...table].join('\n'));
});

for (const fixture of FIXTURES) {
  const dir = path.join(PARITY, fixture);
  const present = existsSync(path.join(dir, 'cases.json'));
  const fx = present ? (JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as Fixture) : undefined;

  describe.skipIf(!present)(`diffusers parity over HTTP: ${fixture}`, () => {
    let root = '';
    let server: Awaited<ReturnType<typeof startTestServer>>;
    let base = '';

    beforeAll(async () => {
      // The server may write beside the models (aliases, caches): it gets a copy, never the fixture.
      root = mkdtempSync(path.join(tmpdir(), `parity-${fixture}-`));
      cpSync(path.join(dir, 'models'), root, { recursive: true });
      variant(root, fx!.model_id, 'unipc-sigma-min', { final_sigmas_type: 'sigma_min' });
      // The same graphs read as an epsilon model: the control of the v-prediction check below.
      variant(root, fx!.model_id, 'epsilon', { prediction_type: 'epsilon' });
      server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: fixture });
      await server.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await server?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    const generate = (payload: Record<string, unknown>) =>
      fetch(`${base}/api/v1/enterprise/controlnet`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    const fetchPng = async (url: string) => {
      const file = await fetch(`${base}${new URL(url).pathname}`);
      expect(file.status).toBe(200);
      return rgb(Buffer.from(await file.arrayBuffer()));
    };

    for (const c of fx?.cases ?? []) {
      it(`${c.name}: every pixel within 1/255 of diffusers`, async () => {
        const res = await generate(body(dir, fx!, c));
        const json = (await res.json()) as { status: string; output: string[]; message?: string; meta: { model: string } };
        expect(res.status, JSON.stringify(json)).toBe(200);
        expect(json.status, json.message).toBe('success');
        expect(json.meta.model).toBe(modelFor(fx!, c));
        expect(json.output).toHaveLength(c.expected.length);
        for (let n = 0; n < c.expected.length; n++) {
          const got = await fetchPng(json.output[n]!);
          const want = await rgb(readFileSync(path.join(dir, c.expected[n]!)));
          expect([got.width, got.height]).toEqual([want.width, want.height]);
          const maxDelta = maxAbsDiff(got.data, want.data);
          const label = `${fixture}/${c.name}-${n}${modelFor(fx!, c) === fx!.model_id ? '' : ' (σ_min end)'}`;
          table.push(`${label.padEnd(40)} ${String(maxDelta).padStart(3)}/255`);
          expect(maxDelta, `${fixture}/${c.expected[n]}: max |Δ| ${maxDelta}/255`).toBeLessThanOrEqual(1);
        }
      });
    }

    const vPrediction = (fx?.cases ?? []).find((c) => c.request.scheduler === 'DDIMScheduler');
    const scheduler = present ? JSON.parse(readFileSync(path.join(dir, 'models', fx!.model_id, 'scheduler', 'scheduler_config.json'), 'utf8')) : {};
    it.skipIf(scheduler.prediction_type !== 'v_prediction' || !vPrediction)(
      'the v-prediction comes from the folder: the same graphs read as epsilon are far from diffusers',
      async () => {
        const res = await generate({ ...body(dir, fx!, vPrediction!), model_id: `${fx!.model_id}-epsilon` });
        expect(res.status).toBe(200);
        const json = (await res.json()) as { output: string[] };
        const got = await fetchPng(json.output[0]!);
        const want = await rgb(readFileSync(path.join(dir, vPrediction!.expected[0]!)));
        expect(maxAbsDiff(got.data, want.data)).toBeGreaterThan(16);
      },
    );
  });
}
