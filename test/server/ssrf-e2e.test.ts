import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { API_KEY } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';

type Node = Awaited<ReturnType<typeof startServerProcess>>;

let images: Awaited<ReturnType<typeof startImageServer>>;
let strict: Node;
let allowing: Node;
let inline: string;

beforeAll(async () => {
  const png = await testPng(64, 64);
  inline = `data:image/png;base64,${png.toString('base64')}`;
  images = await startImageServer({
    '/photo.png': { body: png },
    '/to-other-loopback': {
      status: 302,
      body: '',
      get headers() {
        return { location: `http://127.0.0.2:${images.port}/photo.png` };
      },
    },
    '/to-photo': { status: 302, body: '', headers: { location: '/photo.png' } },
    '/hook': { status: 302, body: '', headers: { location: '/landing' } },
    '/landing': { body: 'ok', type: 'text/plain' },
  });
  const env = { API_KEYS: API_KEY, WEBHOOK_ATTEMPTS: '2', WEBHOOK_BACKOFF_MS: '50', SYNC_TIMEOUT_S: '30' };
  [strict, allowing] = await Promise.all([startServerProcess(env), startServerProcess({ ...env, ALLOWED_FETCH_HOSTS: '127.0.0.1/32' })]);
}, 120_000);
afterAll(async () => {
  await Promise.all([strict?.kill(), allowing?.kill()]);
  await images?.close();
});

const detect = (node: Node, image: string) =>
  node.post('/api/v1/enterprise/controlnet/detect', { key: API_KEY, controlnet_type: 'canny', image, base64: 'yes' });
const generate = (node: Node, extra: Record<string, unknown>) =>
  node.post('/api/v1/enterprise/controlnet', {
    key: API_KEY,
    model_id: 'tiny-sd15',
    controlnet_model: 'canny',
    auto_hint: 'yes',
    init_image: inline,
    width: 64,
    height: 64,
    num_inference_steps: 1,
    seed: 1,
    ...extra,
  });

describe('outbound requests (SSRF) against a real server process', () => {
  it('refuses every loopback, private and metadata address, in every form, with one neutral message and no connection', async () => {
    const port = images.port;
    const hosts = [
      '127.0.0.1',
      '[::1]',
      '0.0.0.0',
      '2130706433',
      '0x7f000001',
      '0177.0.0.1',
      '127.1',
      'localhost',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '127.0.0.2',
    ];
    const urls = [
      ...hosts.map((h) => `http://${h}:${port}/photo.png`),
      `http://127.0.0.1:${port}/to-photo`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00::1]/x.png',
      'http://10.0.0.1/x.png',
      'http://192.168.0.1/x.png',
      'http://100.64.0.1/x.png',
      'http://[fe80::1]/x.png',
      'https://127.0.0.1/x.png',
      `http://127.0.0.1:${port}/photo.png?token=abc`,
    ];
    const messages = new Set<string>();
    for (const url of urls) {
      const res = await detect(strict, url);
      expect(res.status, url).toBe(400);
      expect(res.json.status).toBe('error');
      messages.add(res.json.message);
    }
    expect([...messages]).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatch(/^image: could not fetch the image \(/);
    expect(message).not.toMatch(/ECONN|HTTP \d|decodable|loopback|private|127\.|refused/);
    expect(images.requests).toEqual([]);
    // The detail is in the server log, the query string redacted.
    const refusedLine = /refused 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/;
    expect(await strict.outputMatching(refusedLine)).toMatch(refusedLine);
    expect(strict.output()).not.toContain('token=abc');
  });

  it('the same image loads once the operator allows 127.0.0.1, and a redirect hop is checked again', async () => {
    const ok = await detect(allowing, images.url('/photo.png'));
    expect(ok.status).toBe(200);
    expect(ok.json.output?.[0] ?? ok.json.image ?? '').not.toBe('');
    expect((await detect(allowing, images.url('/to-photo'))).status).toBe(200);
    const hop = await detect(allowing, images.url('/to-other-loopback'));
    expect(hop.status).toBe(400);
    expect(hop.json.message).toMatch(/^image: could not fetch the image/);
    const logged = /refused 127\.0\.0\.2: 127\.0\.0\.2 is a loopback address/;
    expect(await allowing.outputMatching(logged)).toMatch(logged);
  });

  it('a webhook to a refused address is never sent; an allowed one that redirects is never turned into a GET', async () => {
    const refused = await generate(strict, { webhook: `http://127.0.0.1:${images.port}/hook?token=hook-secret`, track_id: 1 });
    expect(refused.json.status).toBe('success');
    const sent = await generate(allowing, { webhook: `http://127.0.0.1:${images.port}/hook`, track_id: 2 });
    expect(sent.json.status).toBe('success');
    const deadline = Date.now() + 20_000;
    while (images.requests.filter((r) => r.startsWith('POST')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    // Two attempts (WEBHOOK_ATTEMPTS=2), both POSTs from the allowing server; no GET /landing; nothing from the strict one.
    expect(images.requests.filter((r) => r.includes('/hook') || r.includes('/landing'))).toEqual(['POST /hook', 'POST /hook']);
    const deadline2 = Date.now() + 5_000;
    while (!/webhook delivery failed/.test(strict.output()) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 100));
    expect(strict.output()).toMatch(/webhook delivery failed/);
    expect(strict.output()).not.toContain('hook-secret');
  });
});
