import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from './image-server.js';
import { testPng } from './images.js';
import { API_KEY, startTestServer } from './server.js';
import { startWebhookReceiver } from './webhook-server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** What a job backend needs around the test server: its environment (QUEUE=...) and how to tear it down. */
export interface JobBackendUnderTest {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The job system's behaviour through the HTTP API (processing/fetch, failures, the queue bound, webhooks
 * with retries, temp expiry, SSE), run against each backend: the local queue and the Redis queue.
 */
export function describeJobSystem(
  title: string,
  start: () => Promise<JobBackendUnderTest>,
  describeFn: (name: string, body: () => void) => void = describe,
): void {
  describeFn(title, () => {
    let server: TestServer;
    let images: Awaited<ReturnType<typeof startImageServer>>;
    let backend: JobBackendUnderTest;

    beforeAll(async () => {
      backend = await start();
      server = await startTestServer({
        ...ALLOW_LOOPBACK_FETCHES,
        SYNC_TIMEOUT_S: '0',
        MAX_QUEUE: '3',
        WEBHOOK_BACKOFF_MS: '50',
        WEBHOOK_ATTEMPTS: '3',
        ...backend.env,
      });
      images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
    });
    afterAll(async () => {
      await images?.close();
      await server?.close();
      await backend?.stop();
    });

    const body = (extra: Record<string, unknown> = {}) => ({
      key: API_KEY,
      model_id: 'tiny-sd15',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: images.url('/photo.png'),
      width: 64,
      height: 64,
      num_inference_steps: 3,
      seed: 5,
      ...extra,
    });
    const post = (url: string, payload: unknown) => server.app.inject({ method: 'POST', url, payload: payload as object });
    const generate = (extra: Record<string, unknown> = {}) => post('/api/v1/enterprise/controlnet', body(extra));
    const fetchJob = (id: number) => post(`/api/v1/enterprise/fetch/${id}`, { key: API_KEY });

    async function untilDone(id: number, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await fetchJob(id);
        const json = res.json();
        if (json.status !== 'processing') return { res, json };
        if (Date.now() > deadline) throw new Error(`job ${id} still processing`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('answers "processing" with fetch_result and future_links, then fetch returns the success body', async () => {
      const res = await generate({ samples: 2, track_id: 'abc' });
      expect(res.statusCode).toBe(200);
      const processing = res.json();
      expect(processing).toMatchObject({ status: 'processing', output: [], track_id: 'abc' });
      expect(processing.messege).toBe(processing.message);
      expect(processing.eta).toBeGreaterThanOrEqual(1);
      expect(processing.fetch_result).toMatch(new RegExp(`/api/v1/enterprise/fetch/${processing.id}$`));
      expect(processing.future_links).toHaveLength(2);
      expect(processing.meta).toMatchObject({ W: 64, H: 64, n_samples: 2, seed: 5 });
      const { json } = await untilDone(processing.id);
      expect(json.status).toBe('success');
      expect(json.output).toEqual(processing.future_links);
      expect(json.meta).toMatchObject({ mode: 'txt2img', denoising_steps: 3 });
      const png = await server.app.inject({ method: 'GET', url: new URL(json.output[1]).pathname });
      expect((await sharp(png.rawPayload).metadata()).width).toBe(64);
      // The body form of fetch answers the same.
      const byBody = await post('/api/v1/enterprise/fetch', { key: API_KEY, request_id: String(processing.id) });
      expect(byBody.json()).toEqual(json);
    });

    it('reports a failed job with its cause', async () => {
      const res = await generate({ controlnet_model: 'depth' }); // no depth annotator installed: fails in the worker
      const { json } = await untilDone(res.json().id);
      expect(json).toMatchObject({ status: 'failed', id: res.json().id });
      expect(json.message).toMatch(/depth/);
    });

    it('refuses work past the queue bound with 429 and Retry-After, and completes everything it accepted', async () => {
      const accepted: number[] = [];
      let refused = 0;
      for (let i = 0; i < 8; i++) {
        const res = await generate({ seed: 100 + i });
        if (res.statusCode === 429) {
          refused++;
          expect(res.headers['retry-after']).toBeDefined();
          expect(res.json()).toEqual({ status: 'error', message: expect.stringMatching(/queue is full \(3 jobs waiting\)/) });
        } else {
          expect(res.statusCode).toBe(200);
          accepted.push(res.json().id);
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(accepted.length).toBeGreaterThanOrEqual(3);
      for (const id of accepted) expect((await untilDone(id)).json.status).toBe('success');
    });

    it('unknown and malformed ids are answered clearly', async () => {
      expect((await fetchJob(123456789)).statusCode).toBe(404);
      const bad = await post('/api/v1/enterprise/fetch', { key: API_KEY, request_id: 'abc' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toMatch(/^request_id: must be a job id/);
      expect((await post('/api/v1/enterprise/fetch/1', { key: 'wrong' })).statusCode).toBe(401);
    });

    it('delivers the webhook with retries and records each attempt', async () => {
      const hook = await startWebhookReceiver([500, 200]);
      try {
        const res = await generate({ webhook: hook.url, track_id: 77 });
        const id = res.json().id;
        await hook.waitFor(2);
        expect(hook.received.map((r) => r.status)).toEqual([500, 200]);
        expect(hook.received[1].body).toMatchObject({ status: 'success', id, track_id: 77 });
        const record = await server.jobs.get(String(id));
        await expect.poll(async () => (await server.jobs.get(String(id)))?.webhookDeliveries.length).toBe(2);
        expect(record).not.toBeNull();
        const deliveries = (await server.jobs.get(String(id)))!.webhookDeliveries;
        expect(deliveries.map((d) => [d.attempt, d.status, d.error])).toEqual([
          [1, 500, 'HTTP 500'],
          [2, 200, null],
        ]);
      } finally {
        await hook.close();
      }
    });

    it('rejects a webhook that is not an http(s) URL', async () => {
      const res = await generate({ webhook: 'ftp://example/x' });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/^webhook: must be an http\(s\) URL/);
    });

    it('expires temp outputs after their time, and says so', async () => {
      const id = (await generate({ temp: 'yes' })).json().id;
      const { json } = await untilDone(id);
      expect(json.meta.temp).toBe('yes');
      const url = new URL(json.output[0]).pathname;
      expect((await server.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      const record = (await server.jobs.get(String(id)))!;
      expect(record.expiresAt! - record.finishedAt!).toBe(24 * 3600 * 1000);
      expect(await server.jobs.sweepExpired(record.expiresAt! - 1)).toBe(0);
      expect(await server.jobs.sweepExpired(record.expiresAt! + 1)).toBeGreaterThanOrEqual(1);
      const gone = await server.app.inject({ method: 'GET', url });
      expect(gone.statusCode).toBe(410);
      expect(gone.json().message).toMatch(/expired/);
      expect((await fetchJob(id)).statusCode).toBe(410);
    });

    it('streams progress over Server-Sent Events until the job is done', async () => {
      await server.app.listen({ host: '127.0.0.1', port: 0 });
      const address = server.app.server.address() as import('node:net').AddressInfo;
      const id = (await generate({ num_inference_steps: 4 })).json().id;
      const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/enterprise/jobs/${id}/events?key=${API_KEY}`);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const text = await res.text();
      const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]) }));
      const kinds = events.map((e) => e.event);
      expect(kinds.at(-1)).toBe('done');
      expect(events.at(-1)!.data).toMatchObject({ status: 'success', id });
      const steps = events.filter((e) => e.event === 'progress').map((e) => e.data.step);
      if (kinds[0] !== 'done') expect(steps.length).toBeGreaterThan(0);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      const unauthorised = await fetch(`http://127.0.0.1:${address.port}/api/v1/enterprise/jobs/${id}/events`);
      expect(unauthorised.status).toBe(401);
    });
  });
}
