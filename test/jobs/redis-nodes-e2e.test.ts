import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/jobs/redis-keys.js';
import { RedisJobStore } from '../../src/jobs/redis-store.js';
import type { JobRecord } from '../../src/jobs/record.js';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { API_KEY } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';
import { startWebhookReceiver } from '../helpers/webhook-server.js';

type Node = Awaited<ReturnType<typeof startServerProcess>>;

/**
 * Scale-out with real processes: one redis-server, two API nodes (separate data folders, no shared
 * disk) and two worker nodes, all `src/main.ts` started the way an operator would.
 */
describeWithRedis('several nodes sharing one Redis queue', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let images: Awaited<ReturnType<typeof startImageServer>>;
  let store: RedisJobStore;
  let api1: Node;
  let api2: Node;
  const workers: Record<string, Node> = {};
  const dirs: string[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
    store = new RedisJobStore(await redis.client(), new RedisKeys('cn'));
    const node = (env: Record<string, string>, args: string[] = []) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-node-'));
      dirs.push(dir);
      return startServerProcess(
        {
          ...ALLOW_LOOPBACK_FETCHES,
          QUEUE: redis.url,
          DATA_DIR: dir,
          API_KEYS: API_KEY,
          ADMIN_API_KEYS: API_KEY,
          SYNC_TIMEOUT_S: '0',
          MAX_QUEUE: '2',
          JOB_LOCK_MS: '1500',
          STALLED_CHECK_MS: '500',
          ...env,
        },
        args,
      );
    };
    [api1, api2, workers.w1, workers.w2] = await Promise.all([
      node({}, ['--role', 'api']),
      node({ ROLE: 'api' }),
      // Workers open the base model before they are ready, so the first jobs do not wait for it.
      node({ NODE_NAME: 'w1', PRELOAD: 'tiny-sd15' }, ['--role=worker']),
      node({ NODE_NAME: 'w2', ROLE: 'worker', PRELOAD: 'tiny-sd15' }),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api1, api2, ...Object.values(workers)].map((n) => n?.kill('SIGKILL')));
    await images?.close();
    await redis?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const job = (extra: Record<string, unknown> = {}) => ({
    key: API_KEY,
    controlnet_model: 'canny',
    init_image: images.url('/photo.png'),
    width: 256,
    height: 256,
    num_inference_steps: 10,
    instant_response: 'yes',
    ...extra,
  });
  const submit = async (via: Node, extra: Record<string, unknown> = {}) => {
    const res = await via.post('/api/v1/enterprise/controlnet', job(extra));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return String(res.json.id);
  };
  /** Polls the shared record until `done` says so. */
  const until = async (id: string, done: (r: JobRecord) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await store.get(id);
      if (record && done(record)) return record;
      if (Date.now() > deadline) {
        const logs = Object.entries(workers)
          .map(([name, n]) => `--- ${name}\n${n.output()}`)
          .join('\n');
        throw new Error(
          `job ${id}: ${JSON.stringify(record && { state: record.state, node: record.node, attempts: record.attempts, error: record.error })}\n${logs}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const finished = (id: string, timeoutMs?: number) => until(id, (r) => r.state === 'succeeded' || r.state === 'failed', timeoutMs);

  it('two worker processes run jobs from the one queue, and each record says which node ran it', async () => {
    const ids = await Promise.all([submit(api1, { seed: 0 }), submit(api2, { seed: 1 })]);
    // Two at a time (MAX_QUEUE=2): the next ones once those have started.
    for (let k = 2; k < 6; k++) {
      await until(ids[k - 2], (r) => r.state !== 'queued');
      ids.push(await submit(k % 2 ? api2 : api1, { seed: k }));
    }
    const records = await Promise.all(ids.map((id) => finished(id)));
    expect(records.map((r) => r.state)).toEqual(Array(6).fill('succeeded'));
    expect(new Set(records.map((r) => r.node))).toEqual(new Set(['w1', 'w2']));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
  });

  it('serves results, PNGs and uploads from either API node (separate data folders: the files travel through Redis)', async () => {
    const id = await submit(api1, { seed: 42, samples: 2, track_id: 'both-nodes' });
    await finished(id);
    const [one, two] = await Promise.all([api1, api2].map((n) => n.post(`/api/v1/enterprise/fetch/${id}`, { key: API_KEY })));
    expect(one.json).toMatchObject({ status: 'success', id: Number(id), track_id: 'both-nodes' });
    expect(two.json).toEqual(one.json);
    expect(one.json.output).toHaveLength(2);
    for (const url of one.json.output as string[]) {
      const file = new URL(url).pathname;
      const [a, b] = await Promise.all([api1, api2].map(async (n) => Buffer.from(await (await fetch(`${n.base}${file}`)).arrayBuffer())));
      expect(a.subarray(1, 4).toString()).toBe('PNG');
      expect(b.equals(a)).toBe(true);
    }
    const missing = await fetch(`${api2.base}/generations/${id}-7.png`);
    expect(missing.status).toBe(404);
    // An image uploaded through one API node is served by the other too.
    const png = await testPng(32, 32);
    const upload = await api1.post('/api/v1/enterprise/upload_image', { key: API_KEY, base64_image: png.toString('base64'), image_type: 'png' });
    const served = await fetch(`${api2.base}${new URL(upload.json.link).pathname}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
  });

  it('management endpoints reach the worker nodes; API nodes have no sessions of their own', async () => {
    const details = await api2.post('/api/v1/enterprise/system_details', { key: API_KEY });
    expect(details.json).toMatchObject({ role: 'api', queue_backend: 'redis', queue: { waiting: 0, running: 0 } });
    expect(details.json.loaded_sessions.length).toBeGreaterThan(0);
    const cleared = await api1.post('/api/v1/enterprise/clear_cache', { key: API_KEY });
    const released = Number(/released (\d+) model sessions/.exec(cleared.json.message)![1]);
    // Both workers had the same sessions open: each closed its own.
    expect(released).toBe(2 * details.json.loaded_sessions.length);
    expect((await api2.post('/api/v1/enterprise/system_details', { key: API_KEY })).json.loaded_sessions).toEqual([]);
  });

  it('refuses work with 429 when the shared queue is full, on either API node, and completes everything it accepted', async () => {
    // Keep both workers busy, then fill the queue (MAX_QUEUE=2) through both API nodes.
    const long = await Promise.all([
      submit(api1, { width: 384, height: 384, num_inference_steps: 15 }),
      submit(api2, { width: 384, height: 384, num_inference_steps: 15 }),
    ]);
    await Promise.all(long.map((id) => until(id, (r) => r.state === 'running')));
    const queued = [await submit(api1, { seed: 7 }), await submit(api2, { seed: 8 })];
    for (const via of [api1, api2]) {
      const refused = await via.post('/api/v1/enterprise/controlnet', job({ seed: 9 }));
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBeDefined();
      expect(refused.json.message).toMatch(/queue is full \(2 jobs waiting\)/);
    }
    const records = await Promise.all([...long, ...queued].map((id) => finished(id)));
    expect(records.map((r) => r.state)).toEqual(Array(4).fill('succeeded'));
  });

  it('delivers a webhook once, not once per node', async () => {
    const hook = await startWebhookReceiver([200]);
    try {
      const id = await submit(api2, { webhook: hook.url, track_id: 5 });
      await hook.waitFor(1);
      const record = await until(id, (r) => r.webhookDeliveries.length > 0);
      await new Promise((r) => setTimeout(r, 1000));
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0].body).toMatchObject({ status: 'success', id: Number(id), track_id: 5 });
      expect((await store.get(id))!.webhookDeliveries).toEqual([expect.objectContaining({ attempt: 1, status: 200, error: null })]);
      expect(record.state).toBe('succeeded');
    } finally {
      await hook.close();
    }
  });

  it('a worker killed mid-job loses its lock, and the other worker completes that job', async () => {
    const id = await submit(api1, { width: 384, height: 384, num_inference_steps: 20, seed: 11 });
    const running = await until(id, (r) => r.state === 'running' && (r.progress?.step ?? 0) >= 1);
    const victim = running.node!;
    const survivor = victim === 'w1' ? 'w2' : 'w1';
    expect(await workers[victim].kill('SIGKILL')).toBeNull();
    const done = await finished(id);
    expect(done).toMatchObject({ state: 'succeeded', node: survivor, attempts: 2 });
    const res = await api2.post(`/api/v1/enterprise/fetch/${id}`, { key: API_KEY });
    expect(res.json.status).toBe('success');
    expect((await fetch(`${api2.base}${new URL(res.json.output[0]).pathname}`)).status).toBe(200);
  });
});
