import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { startServerProcess } from '../helpers/server-process.js';

let image: string;
const dirs: string[] = [];
beforeAll(async () => {
  image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * 200 requests at once against MAX_QUEUE=2 and one inference worker: at most 1 running + 2 waiting are
 * accepted (the jobs are long enough that none finishes during the burst), every other one gets a 429
 * with Retry-After, and the queue never reports more than 2 waiting.
 */
async function burst(env: Record<string, string>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-bound-'));
  dirs.push(dir);
  const server = await startServerProcess({ DATA_DIR: dir, API_KEYS: 'client,other', ADMIN_API_KEYS: 'admin', MAX_QUEUE: '2', SYNC_TIMEOUT_S: '0', ...env });
  try {
    const body = JSON.stringify({
      key: 'client',
      controlnet_model: 'canny',
      init_image: image,
      width: 512,
      height: 512,
      num_inference_steps: 50,
      instant_response: 'yes',
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await fetch(`${server.base}/api/v1/enterprise/controlnet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Record<string, unknown> };
      }),
    );
    const accepted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted.length + refused.length, JSON.stringify(answers.find((a) => a.status !== 200 && a.status !== 429))).toBe(200);
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    expect(accepted.length).toBeLessThanOrEqual(3);
    for (const a of accepted) expect(a.json.status).toBe('processing');
    for (const r of refused) {
      expect(r.retryAfter).toBeTruthy();
      expect(r.json).toEqual({ status: 'error', message: expect.stringMatching(/queue is full/) });
    }
    // The accepted jobs are the client's own (on this backend's records too): another key cannot see them.
    const id = accepted[0].json.id;
    expect((await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'client' })).json.status).toBe('processing');
    expect((await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'other' })).status).toBe(404);
    const details = await server.post('/api/v1/enterprise/system_details', { key: 'client' });
    expect(details.json.queue.waiting).toBeLessThanOrEqual(2);
    expect(details.json.queue.waiting + details.json.queue.running).toBe(accepted.length);
    expect((await server.post('/api/v1/enterprise/clear_queue', { key: 'admin' })).json.status).toBe('success');
  } finally {
    await server.kill('SIGKILL');
  }
}

describe('the queue bound holds under concurrency', () => {
  it('local queue (SQLite): 200 concurrent requests, MAX_QUEUE=2', () => burst({}), 180_000);
});

describeWithRedis('the queue bound holds under concurrency (Redis)', () => {
  it('Redis queue: 200 concurrent requests, MAX_QUEUE=2', async () => {
    const redis = await startRedisServer();
    try {
      await burst({ QUEUE: redis.url });
    } finally {
      await redis.stop();
    }
  }, 180_000);
});
