import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAYGROUND_DIR } from '../../src/server/routes/playground.js';

// The page's own module (plain JS, no DOM needed for this one), exactly as the browser gets it.
const { curlCommand } = (await import(pathToFileURL(path.join(PLAYGROUND_DIR, 'curl.js')).href)) as {
  curlCommand: (endpoint: string, payload: Record<string, unknown>, fileNames: Record<string, string>) => string;
};

let dir: string;
let server: Server;
let endpoint: string;
const received: { headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cn-curl-'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"success"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/enterprise/controlnet`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the playground's curl command", () => {
  it('sends, from bash, exactly the JSON the page sent, with inline images read from their files', async () => {
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 250, 251, 252]);
    const mask = Buffer.from('a mask, not really a PNG');
    writeFileSync(path.join(dir, "it's a photo $1.png"), image);
    writeFileSync(path.join(dir, 'mask.webp'), mask);
    const payload = {
      key: "k'ey$HOME",
      prompt: 'a `whoami` "quoted" $(date) \\n back\\slash\nnew line; rm -rf /',
      negative_prompt: null,
      init_image: `data:image/png;base64,${image.toString('base64')}`,
      mask_image: `data:image/webp;base64,${mask.toString('base64')}`,
      control_image: 'https://example.com/a.png?x=$y',
      width: '512',
      seed: null,
      instant_response: 'yes',
    };
    const command = curlCommand(endpoint, payload, { init_image: "C:\\Users\\me\\it's a photo $1.png", mask_image: 'mask.webp' });
    expect(command).toContain("$(base64 -w0 'it'\\''s a photo $1.png')");
    expect(command).not.toContain(image.toString('base64'));

    const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({ status: 'success' });
    const request = received.at(-1)!;
    expect(request.headers['content-type']).toBe('application/json');
    const { instant_response: _sync, ...expected } = payload;
    expect(JSON.parse(request.body)).toEqual(expected);
  });

  it('leaves URL images as they are', () => {
    const command = curlCommand(endpoint, { init_image: 'https://example.com/x.png' }, { init_image: 'x.png' });
    expect(command).toContain('"init_image":"https://example.com/x.png"');
    expect(command).not.toContain('base64 -w0');
  });
});
