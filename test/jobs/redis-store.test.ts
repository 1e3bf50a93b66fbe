import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RedisClient } from '../../src/jobs/redis-client.js';
import { RedisKeys } from '../../src/jobs/redis-keys.js';
import { RedisBlobStore } from '../../src/jobs/redis-blob-store.js';
import { RedisJobStore } from '../../src/jobs/redis-store.js';
import type { JobRecord } from '../../src/jobs/record.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';

const record = (id: string, createdAt: number, extra: Partial<JobRecord> = {}): JobRecord => ({
  id,
  state: 'queued',
  createdAt,
  startedAt: null,
  finishedAt: null,
  attempts: 0,
  spec: { steps: 3, width: 64, height: 64, samples: 1, controlnets: [{ name: 'canny' }], seed: '5', prompt: 'a "quoted" prompt ✓' },
  inputs: { 'control.0': `inputs/${id}/control.0` },
  response: { baseUrl: 'http://x', base64: false, temp: false, webhook: null, trackId: null, warnings: [], meta: { n_samples: 1 } },
  progress: null,
  result: null,
  error: null,
  expiresAt: null,
  webhookDeliveries: [],
  ...extra,
});

describeWithRedis('Redis job records and blobs', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let client: RedisClient;
  let store: RedisJobStore;
  beforeAll(async () => {
    redis = await startRedisServer();
    client = await redis.client();
    store = new RedisJobStore(client, new RedisKeys('t'));
  });
  afterAll(() => redis?.stop());

  it('hands out random numeric ids (16 digits, exact as JSON numbers) that no stored job uses', async () => {
    const other = new RedisJobStore(await redis.client(), new RedisKeys('t'));
    const ids = await Promise.all(Array.from({ length: 300 }, (_, k) => (k % 2 ? store : other).newId()));
    expect(new Set(ids).size).toBe(300);
    for (const id of ids) {
      expect(id).toMatch(/^\d{16}$/);
      expect(Number.isSafeInteger(Number(id))).toBe(true);
    }
    // Not a clock or a counter: consecutive ids are far apart.
    const gaps = ids.slice(1).map((id, k) => Math.abs(Number(id) - Number(ids[k])));
    expect(Math.min(...gaps)).toBeGreaterThan(1_000_000);
  });

  it('stores a record field by field and reads back exactly what was written', async () => {
    const r = record('101', 1000);
    await store.insert(r);
    expect(await store.get('101')).toEqual(r);
    expect(await store.get('nope')).toBeNull();
    await expect(store.insert(r)).rejects.toThrow(/already exists/);
    const updated = await store.update('101', { state: 'running', attempts: 1, node: 'gpu-a', progress: { step: 1, total: 3 } });
    expect(updated).toEqual({ ...r, state: 'running', attempts: 1, node: 'gpu-a', progress: { step: 1, total: 3 } });
    expect(await store.update('nope', { state: 'failed' })).toBeNull();
  });

  it('applies a conditional update only while the expected fields still match', async () => {
    await store.insert(record('102', 1001, { state: 'running', attempts: 2 }));
    expect(await store.updateIf('102', { state: 'running', attempts: 1 }, { state: 'succeeded' })).toBeNull();
    expect((await store.get('102'))!.state).toBe('running');
    expect((await store.updateIf('102', { state: 'running', attempts: 2 }, { state: 'succeeded' }))!.state).toBe('succeeded');
  });

  it('keeps the state and expiry indexes in step: byState oldest first, counts, expired', async () => {
    const store = new RedisJobStore(client, new RedisKeys('idx'));
    await store.insert(record('201', 2003));
    await store.insert(record('200', 2002));
    await store.insert(record('202', 2001, { state: 'running' }));
    const open = await store.byState(['queued', 'running']);
    expect(open.map((r) => r.id)).toEqual(['202', '200', '201']);
    expect(await store.queuedAhead('201')).toBe(1);
    expect(await store.queuedAhead('202')).toBeNull();
    await store.update('200', { state: 'succeeded', finishedAt: 5, expiresAt: 10_000 });
    await store.update('201', { state: 'failed', finishedAt: 5, expiresAt: 20_000 });
    expect(await store.counts()).toEqual({ queued: 0, running: 1, succeeded: 1, failed: 1 });
    expect((await store.expired(15_000)).map((r) => r.id)).toEqual(['200']);
    await store.update('200', { expired: true, expiresAt: null });
    expect((await store.expired(30_000)).map((r) => r.id)).toEqual(['201']);
  });

  it('refuses a new queued job once the bound is reached, atomically', async () => {
    const bounded = new RedisJobStore(client, new RedisKeys('bound'));
    const results = await Promise.all(Array.from({ length: 10 }, (_, k) => bounded.insertIfRoom(record(String(300 + k), 3000 + k), 4)));
    expect(results.filter(Boolean)).toHaveLength(4);
    expect((await bounded.counts()).queued).toBe(4);
    await bounded.update(String(300 + results.indexOf(true)), { state: 'running' });
    expect(await bounded.insertIfRoom(record('399', 3999), 4)).toBe(true);
  });

  it('keeps blobs byte for byte, with a TTL when asked', async () => {
    const blobs = new RedisBlobStore(client, new RedisKeys('t'));
    const png = Buffer.from(Array.from({ length: 5000 }, (_, k) => (k * 31) & 255));
    await blobs.put('outputs/1-0.png', png, 60_000);
    await blobs.put('inputs/1/init', new Uint8Array([0, 1, 2, 3, 255]).subarray(1, 4));
    expect((await blobs.get('outputs/1-0.png'))!.equals(png)).toBe(true);
    expect([...(await blobs.get('inputs/1/init'))!]).toEqual([1, 2, 3]);
    const ttl = await client.send<number>('PTTL', ['t:blob:outputs/1-0.png']);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await client.send('PTTL', ['t:blob:inputs/1/init'])).toBe(-1);
    await blobs.delete(['outputs/1-0.png', 'inputs/1/init']);
    expect(await blobs.get('outputs/1-0.png')).toBeNull();
    expect(await blobs.get('inputs/1/init')).toBeNull();
  });
});
