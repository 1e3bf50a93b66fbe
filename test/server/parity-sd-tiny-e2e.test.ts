/**
 * Parity with diffusers over HTTP: the real server (Fastify on a real socket, job service, inference worker thread,
 * onnxruntime) serves the exported tiny diffusers folder of test/fixtures/parity/sd-tiny/, and every case's request
 * gives diffusers' images within 1/255 per pixel (cases.json; scripts/reference/make-parity.py made them with
 * diffusers 0.27.2's StableDiffusionControlNet{,Img2Img,Inpaint}Pipeline). Prints the table case → max |Δ|.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startTestServer } from '../helpers/server.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sd-tiny');
const present = existsSync(path.join(FIXTURE, 'cases.json'));

interface ParityCase {
  name: string;
  request: Record<string, unknown>;
  expected: string[];
}

const doc = present
  ? (JSON.parse(readFileSync(path.join(FIXTURE, 'cases.json'), 'utf8')) as { cases: ParityCase[] })
  : { cases: [] };

const IMAGE_FIELDS = ['init_image', 'mask_image', 'control_image'];
const dataUri = (file: string) =>
  `data:image/png;base64,${readFileSync(path.join(FIXTURE, file)).toString('base64')}`;

/** The case's request with the test key and its image files as data: URIs. */
function body(c: ParityCase): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c.request, key: API_KEY };
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

const root = mkdtempSync(path.join(tmpdir(), 'parity-sd-tiny-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let base = '';
const table: Array<{ case: string; image: number; maxDelta: number }> = [];

beforeAll(async () => {
  if (!present) return;
  // The server may write beside the models (aliases, caches): it gets a copy, never the fixture.
  cpSync(path.join(FIXTURE, 'models'), root, { recursive: true });
  server = await startTestServer({ MODELS_DIR: root, DEFAULT_MODEL: 'sd-tiny' });
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (table.length > 0) {
    const lines = table.map((r) => `${`${r.case}-${r.image}`.padEnd(20)} ${String(r.maxDelta).padStart(3)}/255`);
    console.log(['parity sd-tiny: case → max |Δ| (0..255)', ...lines].join('\n'));
  }
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!present)("diffusers parity over HTTP (sd-tiny, diffusers' ControlNet pipelines)", () => {
  for (const c of doc.cases) {
    it(`${c.name}: every pixel within 1/255 of diffusers`, async () => {
      const res = await fetch(`${base}/api/v1/enterprise/controlnet`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(c)),
      });
      const json = (await res.json()) as { status: string; output: string[]; message?: string };
      expect(res.status, JSON.stringify(json)).toBe(200);
      expect(json.status, json.message).toBe('success');
      expect(json.output).toHaveLength(c.expected.length);
      for (let n = 0; n < c.expected.length; n++) {
        const url = new URL(json.output[n]!);
        const file = await fetch(`${base}${url.pathname}`);
        expect(file.status).toBe(200);
        const got = await rgb(Buffer.from(await file.arrayBuffer()));
        const want = await rgb(readFileSync(path.join(FIXTURE, c.expected[n]!)));
        expect([got.width, got.height]).toEqual([want.width, want.height]);
        const maxDelta = maxAbsDiff(got.data, want.data);
        table.push({ case: c.name, image: n, maxDelta });
        expect(maxDelta, `${c.expected[n]}: max |Δ| ${maxDelta}/255`).toBeLessThanOrEqual(1);
      }
    });
  }
});
