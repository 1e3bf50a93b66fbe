import { afterAll, beforeAll, expect, it } from 'vitest';
import sharp from 'sharp';
import { describeJobSystem } from '../helpers/job-suite.js';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import type { RedisJobService } from '../../src/jobs/redis-service.js';

describeJobSystem(
  'Redis queue, one node: processing, fetch, webhooks, temp outputs',
  async () => {
    const redis = await startRedisServer();
    return { env: { QUEUE: redis.url, NODE_NAME: 'solo' }, stop: () => redis.stop() };
  },
  describeWithRedis,
);

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** Roles in one process: an API-only node and worker-only nodes started and stopped around it. */
describeWithRedis('Redis queue roles: API nodes run nothing, worker nodes take the jobs', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let images: Awaited<ReturnType<typeof startImageServer>>;
  let api: Server;
  const env = () => ({ ...ALLOW_LOOPBACK_FETCHES, QUEUE: redis.url, SYNC_TIMEOUT_S: '0', MAX_ATTEMPTS: '2', JOB_LOCK_MS: '1000', STALLED_CHECK_MS: '300' });
  const worker = (name: string) => startTestServer({ ...env(), ROLE: 'worker', NODE_NAME: name });

  beforeAll(async () => {
    redis = await startRedisServer();
    images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
    api = await startTestServer({ ...env(), ROLE: 'api' });
  });
  afterAll(async () => {
    await api?.close();
    await images?.close();
    await redis?.stop();
  });

  const call = (name: string, payload: Record<string, unknown> = {}) =>
    api.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: API_KEY, ...payload } });
  const submit = async (extra: Record<string, unknown> = {}) =>
    String(
      (
        await call('controlnet', { controlnet_model: 'canny', init_image: images.url('/photo.png'), width: 64, height: 64, num_inference_steps: 3, ...extra })
      ).json().id,
    );

  it('an API node without workers queues jobs and reports them; clear_queue fails the waiting ones', async () => {
    const ids = [await submit({ seed: 1 }), await submit({ seed: 2 })];
    const details = (await call('system_details')).json();
    expect(details).toMatchObject({ role: 'api', queue_backend: 'redis', queue: { waiting: 2, running: 0 }, loaded_sessions: [] });
    const second = (await call(`fetch/${ids[1]}`)).json();
    expect(second).toMatchObject({ status: 'processing', state: 'queued', queue_position: 1 });
    expect((await call('clear_cache')).json().message).toMatch(/released 0 model sessions/);
    expect((await call('clear_queue')).json().message).toMatch(/removed 2 queued jobs/);
    for (const id of ids) expect((await call(`fetch/${id}`)).json()).toMatchObject({ status: 'failed', message: 'removed from the queue by clear_queue' });
    expect((await call('system_details')).json().queue).toEqual({ waiting: 0, running: 0 });
  });

  it('a worker node started later runs what waited; management and hint previews reach it; its HTTP serves health only', async () => {
    const id = await submit({ seed: 3 });
    const w = await worker('late-worker');
    try {
      const done = await api.jobs.waitFinished(id, 30_000);
      expect(done).toMatchObject({ state: 'succeeded', node: 'late-worker', attempts: 1 });
      const png = await api.app.inject({ method: 'GET', url: `/generations/${done!.result!.outputs[0]}` });
      expect((await sharp(png.rawPayload).metadata()).width).toBe(64);
      expect((await call('system_details')).json().loaded_sessions.length).toBeGreaterThan(0);
      expect((await call('restart_server')).json().status).toBe('success');
      const hint = await call('controlnet/detect', { controlnet_type: 'canny', image: images.url('/photo.png'), base64: 'yes' });
      expect(hint.json()).toMatchObject({ status: 'success', width: 64, height: 64 });
      expect((await w.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const notHere = await w.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: {} });
      expect(notHere.statusCode).toBe(404);
      expect(notHere.json().message).toMatch(/a worker node serves \/healthz/);
    } finally {
      await w.close();
    }
  });

  it('a worker shutting down finishes its running job and leaves the queued ones to the next worker', async () => {
    const first = await worker('leaving');
    const running = await submit({ width: 256, height: 256, num_inference_steps: 20, seed: 4 });
    const queued = await submit({ seed: 5 });
    await expect.poll(async () => (await api.jobs.get(running))?.state, { timeout: 20_000 }).toBe('running');
    await first.close();
    expect(await api.jobs.get(running)).toMatchObject({ state: 'succeeded', node: 'leaving' });
    expect((await api.jobs.get(queued))!.state).toBe('queued');
    const next = await worker('next');
    try {
      expect(await api.jobs.waitFinished(queued, 30_000)).toMatchObject({ state: 'succeeded', node: 'next' });
    } finally {
      await next.close();
    }
  });

  it('a job interrupted MAX_ATTEMPTS times fails with the reason instead of running again', async () => {
    const id = await submit({ seed: 6 });
    const store = (api.jobs as RedisJobService).store;
    await store.update(id, { attempts: 2 }); // as if two workers had died running it
    const w = await worker('third');
    try {
      const done = await api.jobs.waitFinished(id, 30_000);
      expect(done).toMatchObject({ state: 'failed', attempts: 2 });
      expect(done!.error!.message).toMatch(/^interrupted 2 times .*not retried/);
    } finally {
      await w.close();
    }
  });
});

/** The hand-over to BullMQ: its Queue and Worker connections come back with Redis, as ours do. */
describeWithRedis('Redis queue after Redis itself restarts', () => {
  it('a node keeps taking and running jobs once a restarted Redis is back', async () => {
    let redis = await startRedisServer();
    const images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
    const node = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES, QUEUE: redis.url, NODE_NAME: 'survivor', SYNC_TIMEOUT_S: '0' });
    try {
      const submit = async (seed: number) => {
        const res = await node.app.inject({
          method: 'POST',
          url: '/api/v1/enterprise/controlnet',
          payload: { key: API_KEY, controlnet_model: 'canny', init_image: images.url('/photo.png'), width: 64, height: 64, num_inference_steps: 2, seed },
        });
        expect(res.statusCode, res.body).toBe(200);
        return String(res.json().id);
      };
      expect(await node.jobs.waitFinished(await submit(1), 30_000)).toMatchObject({ state: 'succeeded' });
      // Same port, empty data (no persistence): every connection must reconnect and BullMQ start over.
      const port = redis.port;
      await redis.stop();
      // Down long enough for several reconnect attempts, so the connections come back at different moments.
      await new Promise((r) => setTimeout(r, 1500));
      redis = await startRedisServer(port);
      const id = await submit(2);
      expect(await node.jobs.waitFinished(id, 30_000)).toMatchObject({ state: 'succeeded', node: 'survivor' });
    } finally {
      await node.close();
      await images.close();
      await redis.stop();
    }
  });
});
