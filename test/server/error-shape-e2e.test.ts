import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { API_KEY } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';

let server: Awaited<ReturnType<typeof startServerProcess>>;

beforeAll(async () => {
  server = await startServerProcess({ API_KEYS: API_KEY, ADMIN_API_KEYS: API_KEY, IMAGE_MAX_BYTES: '65536' });
}, 90_000);
afterAll(() => server?.kill());

/** A raw request (any Host header, any body), answered as status + parsed JSON. */
function raw(method: string, route: string, body: string | Buffer | null, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; json: Record<string, any> }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: route, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

const json = { 'content-type': 'application/json' };

describe('every error answers in the contract shape, with no paths (real server process)', () => {
  it.each([
    ['bad URL encoding', 'GET', '/api/v1/enterprise/jobs/%E0%A4%A/events', null, {}, 400, /^url: not a valid URL encoding$/],
    ['bad JSON', 'POST', '/api/v1/enterprise/controlnet', '{"key": "x", ', json, 400, /^body: not valid JSON/],
    ['empty JSON body', 'POST', '/api/v1/enterprise/controlnet', '', json, 400, /^body: empty/],
    [
      'a __proto__ key',
      'POST',
      '/api/v1/enterprise/controlnet',
      `{"key":"${API_KEY}","__proto__":{"admin":true}}`,
      json,
      400,
      /^body: not valid JSON .*forbidden key/,
    ],
    [
      'a constructor.prototype key',
      'POST',
      '/api/v1/enterprise/system_details',
      `{"key":"${API_KEY}","constructor":{"prototype":{"admin":true}}}`,
      json,
      400,
      /^body: not valid JSON .*forbidden key/,
    ],
    ['a body too large', 'POST', '/api/v1/enterprise/controlnet', `{"key":"${'k'.repeat(2_000_000)}"}`, json, 413, /^body: larger than this server accepts$/],
    [
      'the wrong content type',
      'POST',
      '/api/v1/enterprise/controlnet',
      '<key/>',
      { 'content-type': 'application/xml' },
      415,
      /^content-type: send the body as application\/json$/,
    ],
    ['an unknown route', 'GET', '/nope?key=secret', null, {}, 404, /^no route for GET \/nope$/],
    ['a POST route asked with GET', 'GET', '/api/v1/enterprise/controlnet', null, {}, 404, /^no route for GET/],
  ] as const)('%s', async (_name, method, route, body, headers, status, message) => {
    const res = await raw(method, route, body, { ...headers });
    expect(res.status).toBe(status);
    expect(Object.keys(res.json).sort()).toEqual(['message', 'status']);
    expect(res.json.status).toBe('error');
    expect(res.json.message).toMatch(message);
  });

  it('messages name model folders relative to MODELS_DIR, never the absolute path', async () => {
    const res = await server.post('/api/v1/enterprise/load_model', {
      key: API_KEY,
      model_id: 'not-a-model',
      url: path.join(MODELS_DIR, 'controlnet'),
      model_type: 'huggingface',
    });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^url: controlnet is not a model folder/);
    expect(res.json.message).not.toContain(MODELS_DIR);
    expect(res.json.message).not.toContain(process.cwd());
  });

  it('output URLs come from the configuration, never from the Host header', async () => {
    const png = await testPng(64, 64);
    const body = JSON.stringify({
      key: API_KEY,
      model_id: 'tiny-sd15',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      width: 64,
      height: 64,
      num_inference_steps: 1,
      init_image: `data:image/png;base64,${png.toString('base64')}`,
    });
    const res = await raw('POST', '/api/v1/enterprise/controlnet', body, { ...json, host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    expect(res.json.status).toBe('success');
    expect(res.json.output[0]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/generations/`));
    const upload = await raw(
      'POST',
      '/api/v1/enterprise/upload_image',
      JSON.stringify({ key: API_KEY, base64_image: png.toString('base64'), image_type: 'png' }),
      { ...json, host: 'evil.example' },
    );
    expect(JSON.stringify(upload.json)).not.toContain('evil.example');
  });
});
