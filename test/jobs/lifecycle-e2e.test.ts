import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';

let images: Awaited<ReturnType<typeof startImageServer>>;
beforeAll(async () => {
  images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
});
afterAll(() => images?.close());

const job = (extra: Record<string, unknown> = {}) => ({
  key: API_KEY,
  controlnet_model: 'canny',
  init_image: images.url('/photo.png'),
  width: 128,
  height: 128,
  num_inference_steps: 12,
  instant_response: 'yes',
  ...extra,
});

describe('restarts lose nothing', () => {
  it('after kill -9, every accepted job finishes or fails with a reason, and finished outputs stay fetchable', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cn-kill-'));
    try {
      const env = { ...ALLOW_LOOPBACK_FETCHES, DATA_DIR: dataDir, API_KEYS: API_KEY, SYNC_TIMEOUT_S: '0' };
      const first = await startServerProcess(env);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await first.post('/api/v1/enterprise/controlnet', job({ seed: i }))).json.id);
      // Let the first job finish, then kill the process in the middle of the next one.
      const deadline = Date.now() + 40_000;
      let done = await first.post(`/api/v1/enterprise/fetch/${ids[0]}`, { key: API_KEY });
      while (done.json.status === 'processing' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        done = await first.post(`/api/v1/enterprise/fetch/${ids[0]}`, { key: API_KEY });
      }
      expect(done.json.status, first.output()).toBe('success');
      expect(await first.kill('SIGKILL')).toBeNull();

      const second = await startServerProcess(env);
      try {
        for (const id of ids) {
          let res = await second.post(`/api/v1/enterprise/fetch/${id}`, { key: API_KEY });
          const until = Date.now() + 30_000;
          while (res.json.status === 'processing') {
            if (Date.now() > until) throw new Error(`job ${id} stuck: ${JSON.stringify(res.json)}\n${second.output()}`);
            await new Promise((r) => setTimeout(r, 100));
            res = await second.post(`/api/v1/enterprise/fetch/${id}`, { key: API_KEY });
          }
          expect(res.json.status, `job ${id}`).toBe('success');
          const png = await fetch(`${second.base}${new URL(res.json.output[0]).pathname}`);
          expect(png.status).toBe(200);
        }
      } finally {
        await second.kill('SIGTERM');
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('graceful shutdown finishes the running job, refuses new ones, and leaves queued jobs for the next start', async () => {
    const server = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES, SYNC_TIMEOUT_S: '0' });
    const post = (payload: object) => server.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload });
    const running = (await post(job({ seed: 1 }))).json().id;
    const queued = (await post(job({ seed: 2 }))).json().id;
    await expect.poll(async () => (await server.jobs.get(String(running)))?.state).toBe('running');
    const closing = server.close(true);
    const refused = await post(job({ seed: 3 }));
    expect(refused.statusCode).toBe(503);
    expect(refused.json().message).toMatch(/shutting down/);
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await closing;

    const next = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES, SYNC_TIMEOUT_S: '30' }, server.dataDir);
    try {
      expect((await next.jobs.get(String(running)))?.state).toBe('succeeded');
      const finished = await next.jobs.waitFinished(String(queued), 30_000);
      expect(finished?.state).toBe('succeeded');
    } finally {
      await next.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
