import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { PLAYGROUND_CSP, PLAYGROUND_DIR } from '../../src/server/routes/playground.js';
import { HINT_TYPES } from '../../src/preprocessors/registry.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });
const html = readFileSync(path.join(PLAYGROUND_DIR, 'index.html'), 'utf8');

describe('the playground page', () => {
  it('is what / and /playground lead to, with relative redirects', async () => {
    for (const url of ['/', '/playground']) {
      const res = await get(url);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('playground/');
    }
    const page = await get('/playground/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toBe(html);
  });

  it('serves every file of src/playground/ with its type and a strict Content-Security-Policy', async () => {
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
    const files = readdirSync(PLAYGROUND_DIR);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'main.js', 'playground.css']));
    for (const file of files) {
      const res = await get(`/playground/${file}`);
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type']).toBe(`${types[path.extname(file)]}; charset=utf-8`);
      expect(res.rawPayload.equals(readFileSync(path.join(PLAYGROUND_DIR, file)))).toBe(true);
      expect(res.headers['content-security-policy']).toBe(PLAYGROUND_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(PLAYGROUND_CSP).toContain("default-src 'self'");
    expect(PLAYGROUND_CSP).toContain("img-src 'self' data: blob:");
    expect(PLAYGROUND_CSP).not.toContain('unsafe');
  });

  it('needs no inline code and nothing from elsewhere', () => {
    // Every script has a src, no element has on* handlers or style attributes, and every URL is relative.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
    for (const file of readdirSync(PLAYGROUND_DIR)) {
      const text = readFileSync(path.join(PLAYGROUND_DIR, file), 'utf8');
      expect(text.match(/(?:src|href)=["'](?:https?:)?\/\/[^"']*/g), file).toBeNull();
      expect(text.match(/\b(?:import|from)\s+["'](?:https?:)?\/\/[^"']*/g), file).toBeNull();
    }
  });

  it('answers 304 to a matching ETag and 404 in the contract shape for anything else', async () => {
    const first = await get('/playground/main.js');
    const again = await get('/playground/main.js', { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    for (const url of ['/playground/nope.js', '/playground/..%2Fpackage.json', '/playground/%2e%2e%2fapp.ts']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ status: 'error', message: expect.any(String) });
      expect(res.body).not.toContain(PLAYGROUND_DIR);
    }
  });

  it('lists what no API endpoint does: hint types, limits and the default model', async () => {
    const res = await get('/playground/options.json');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({
      hint_types: [...HINT_TYPES],
      limits: expect.objectContaining({ maxSide: 1024, maxControlNets: 4 }),
      default_model: 'tiny-sd15',
    });
  });
});
