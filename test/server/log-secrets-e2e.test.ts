import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { startServerProcess } from '../helpers/server-process.js';
import { startWebhookReceiver } from '../helpers/webhook-server.js';

const KEY = 'sk-LOG-CANARY-KEY-7f3a';
const WEBHOOK_TOKEN = 'WEBHOOK-CANARY-TOKEN-91c2';
const URL_TOKEN = 'URL-CANARY-SIG-5d0e';
const PROMPT = 'a PROMPT-CANARY-2b8f lighthouse';

let server: Awaited<ReturnType<typeof startServerProcess>>;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  hook = await startWebhookReceiver([500]);
  images = await startImageServer({});
  server = await startServerProcess({
    API_KEYS: KEY,
    LOG_LEVEL: 'info',
    ALLOWED_FETCH_HOSTS: '127.0.0.1',
    WEBHOOK_ATTEMPTS: '2',
    WEBHOOK_BACKOFF_MS: '50',
    SYNC_TIMEOUT_S: '30',
  });
}, 90_000);
afterAll(async () => {
  await server?.kill();
  await hook?.close();
  await images?.close();
});

describe('secrets never reach the log (a full run of a real server process, LOG_LEVEL=info)', () => {
  it('keys in body, header and query, webhook tokens, image URL tokens, prompts and base64 images are absent', async () => {
    const png = await testPng(64, 64);
    const b64 = png.toString('base64');
    const generation = {
      key: KEY,
      model_id: 'tiny-sd15',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      width: 64,
      height: 64,
      num_inference_steps: 1,
      prompt: PROMPT,
      negative_prompt: PROMPT,
      init_image: `data:image/png;base64,${b64}`,
      webhook: `http://127.0.0.1:${hook.url.split(':')[2]!.split('/')[0]}/hook?token=${WEBHOOK_TOKEN}`,
      track_id: 3,
    };
    const done = await server.post('/api/v1/enterprise/controlnet', generation);
    expect(done.json.status).toBe('success');
    await hook.waitFor(2);
    // A failed image URL (its query string carries a token), a refused one, SSE with ?key=, header keys, a 404 with ?key=.
    expect(
      (await server.post('/api/v1/enterprise/controlnet', { ...generation, webhook: null, init_image: images.url(`/missing.png?sig=${URL_TOKEN}`) })).status,
    ).toBe(400);
    expect(
      (await server.post('/api/v1/enterprise/controlnet', { ...generation, webhook: null, init_image: `http://10.0.0.1/x.png?sig=${URL_TOKEN}` })).status,
    ).toBe(400);
    const sse = await fetch(`${server.base}/api/v1/enterprise/jobs/${done.json.id}/events?key=${KEY}`);
    expect(await sse.text()).toMatch(/event: done/);
    await fetch(`${server.base}/metrics`, { headers: { 'x-api-key': KEY, authorization: `Bearer ${KEY}` } });
    await fetch(`${server.base}/nope?key=${KEY}&other=1`);
    await server.post('/api/v1/enterprise/fetch', { key: KEY, request_id: String(done.json.id) });
    // Let the failed webhook's log line land.
    const deadline = Date.now() + 10_000;
    while (!/webhook delivery failed/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    const log = server.output();
    // The log is not empty: requests, the failed fetch and the failed webhook are there, redacted.
    expect(log).toMatch(/incoming request/);
    expect(log).toMatch(/"url":"\/api\/v1\/enterprise\/jobs\/\d+\/events\?key=\[redacted\]"/);
    expect(log).toMatch(/webhook delivery failed/);
    expect(log).toMatch(/\/hook\?\[redacted\]/);
    expect(log).toMatch(/missing\.png\?\[redacted\]/);
    for (const secret of [KEY, WEBHOOK_TOKEN, URL_TOKEN, 'PROMPT-CANARY', b64.slice(0, 40), b64.slice(-40)]) {
      expect(log, secret).not.toContain(secret);
    }
  });
});
