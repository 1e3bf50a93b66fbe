/**
 * SDXL parity over HTTP: every case of test/fixtures/parity/sdxl-tiny (a tiny SDXL folder exported by
 * scripts/export_onnx.py, run through diffusers 0.27.2's StableDiffusionXLControlNet{,Img2Img,Inpaint}Pipeline by
 * scripts/reference/make-parity.py) sent as is to the server (images as data: URIs), and each output pixel compared
 * with diffusers' image: within 1/255.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startTestServer } from '../helpers/server.js';

const FIXTURE = path.resolve('test/fixtures/parity/sdxl-tiny');
const IMAGE_FIELDS = ['init_image', 'control_image', 'mask_image'] as const;

interface ParityCase {
  name: string;
  request: Record<string, unknown>;
  expected: string[];
}

const fixture = JSON.parse(readFileSync(path.join(FIXTURE, 'cases.json'), 'utf8')) as { model_id: string; cases: ParityCase[] };
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ MODELS_DIR: path.join(FIXTURE, 'models'), DEFAULT_MODEL: fixture.model_id });
});
afterAll(async () => {
  await server?.close();
});

const dataUri = (file: string) => `data:image/png;base64,${readFileSync(path.join(FIXTURE, file)).toString('base64')}`;

async function pixels(png: Buffer) {
  return sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

/** case-sample → largest pixel difference, printed as a table when the file ends. */
const table = new Map<string, number>();
afterAll(() => {
  console.log(['SDXL diffusers parity: case → max |Δ| (0..255)', ...[...table].map(([name, max]) => `${name.padEnd(40)} ${max}/255`)].join('\n'));
});

describe('SDXL parity with diffusers 0.27.2 (tiny SDXL export)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: every pixel within 1/255', async (_name, c) => {
    const body: Record<string, unknown> = { ...c.request, key: API_KEY, base64: 'yes' };
    for (const field of IMAGE_FIELDS) if (typeof body[field] === 'string') body[field] = dataUri(body[field] as string);
    if (Array.isArray(body.control_images)) body.control_images = (body.control_images as string[]).map(dataUri);
    const res = await server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: body });
    expect(res.statusCode, res.body).toBe(200);
    const reply = res.json();
    expect(reply.status, res.body).toBe('success');
    expect(reply.meta.family).toBe('sdxl');
    expect(reply.output).toHaveLength(c.expected.length);
    for (let k = 0; k < c.expected.length; k++) {
      const got = await pixels(Buffer.from(reply.output[k] as string, 'base64'));
      const want = await pixels(readFileSync(path.join(FIXTURE, c.expected[k]!)));
      expect([got.info.width, got.info.height]).toEqual([want.info.width, want.info.height]);
      let max = 0;
      for (let i = 0; i < want.data.length; i++) max = Math.max(max, Math.abs(got.data[i]! - want.data[i]!));
      table.set(`sdxl-tiny/${c.name}-${k}`, max);
      expect(max, `${c.name} sample ${k}: largest pixel difference ${max}/255`).toBeLessThanOrEqual(1);
    }
  });
});
