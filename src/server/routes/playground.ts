import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { LIMITS } from '../contract.js';
import { HINT_TYPES } from '../../preprocessors/registry.js';
import { ClientError } from '../../domain/client-error.js';

/**
 * The page's files: `src/playground/` when run from source, `dist/src/playground/` (copied there by
 * `npm run build`) when run from the build — the same bytes either way.
 */
export const PLAYGROUND_DIR = fileURLToPath(new URL('../../playground/', import.meta.url));

/** Same origin only, no inline code, images also from data: and blob: URLs (uploads, hint previews). */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const asset = (body: Buffer, type: string): Asset => ({ body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });

/** The folder's servable files, read once: only these names are ever answered (no path is built from a URL). */
function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) assets.set(name, asset(readFileSync(path.join(dir, name)), type));
  }
  return assets;
}

/**
 * A browser page to try the server (`/` redirects to `/playground/`). Static files, no auth: the page
 * calls the API with the key the user types. Every answer carries a strict Content-Security-Policy.
 */
export const playgroundRoutes: FastifyPluginAsync<{ ctx: AppContext; dir?: string }> = async (app, { ctx, dir }) => {
  const assets = readAssets(dir ?? PLAYGROUND_DIR);
  if (!assets.has('index.html')) app.log.warn('the playground page is not installed (run `npm run build`); / and /playground/ answer 404');

  const send = (request: FastifyRequest, reply: FastifyReply, file: Asset) => {
    reply
      .header('content-security-policy', PLAYGROUND_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.header('content-type', file.type).send(file.body);
  };
  const page = (name: string) => {
    const file = assets.get(name);
    if (!file) throw new ClientError(404, name === 'index.html' ? 'the playground page is not installed on this server' : `no such file: ${name}`);
    return file;
  };

  // Relative redirects, so the page also works behind a proxy that serves the API under a sub-path.
  app.get('/', async (_request, reply) => reply.redirect('playground/'));
  app.get('/playground', async (_request, reply) => reply.redirect('playground/'));
  app.get('/playground/', async (request, reply) => send(request, reply, page('index.html')));
  app.get<{ Params: { file: string } }>('/playground/:file', async (request, reply) => send(request, reply, page(request.params.file)));

  // What the form offers that no API endpoint lists: hint types, limits, the default model.
  app.get('/playground/options.json', async (request, reply) => {
    const body = Buffer.from(JSON.stringify({ hint_types: HINT_TYPES, limits: LIMITS, default_model: ctx.defaultModel() }));
    return send(request, reply, asset(body, 'application/json; charset=utf-8'));
  });
};
