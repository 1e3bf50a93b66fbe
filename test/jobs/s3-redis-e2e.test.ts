import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { S3RVER_CREDENTIALS, startS3Server } from '../helpers/s3-server.js';
import { API_KEY, startTestServer } from '../helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

/**
 * QUEUE=redis with OUTPUT_STORE=s3: an API node and a worker node (no shared disk) pass job inputs,
 * outputs and uploads through a real S3-compatible server (s3rver) instead of Redis.
 */
describeWithRedis('Redis queue with outputs, inputs and uploads in S3', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let s3: Awaited<ReturnType<typeof startS3Server>>;
  let api: Server;
  let image: string;
  const env = () => ({
    QUEUE: redis.url,
    SYNC_TIMEOUT_S: '0',
    OUTPUT_STORE: 's3',
    S3_BUCKET: 'shared',
    S3_PREFIX: 'cn',
    S3_ENDPOINT: s3.endpoint,
  });

  beforeAll(async () => {
    Object.assign(process.env, S3RVER_CREDENTIALS);
    [redis, s3] = await Promise.all([startRedisServer(), startS3Server(['shared'])]);
    image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
    api = await startTestServer({ ...env(), ROLE: 'api' });
  });
  afterAll(async () => {
    await api?.close();
    await redis?.stop();
    await s3?.close();
  });

  const call = (name: string, payload: Record<string, unknown> = {}) =>
    api.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: API_KEY, ...payload } });

  it('inputs wait in S3 for a worker node; its outputs are S3 objects; Redis holds no blobs', async () => {
    const submitted = (
      await call('controlnet', { controlnet_model: 'canny', auto_hint: 'yes', init_image: image, width: 64, height: 64, num_inference_steps: 2 })
    ).json();
    expect(submitted.status).toBe('processing');
    const id = submitted.id;
    expect((await s3.keys('shared')).filter((k) => k.startsWith(`cn/inputs/${id}/`)).length).toBeGreaterThan(0);

    const worker = await startTestServer({ ...env(), ROLE: 'worker', NODE_NAME: 's3-worker' });
    try {
      await expect.poll(async () => (await call(`fetch/${id}`)).json().status, { timeout: 60_000, interval: 200 }).toBe('success');
    } finally {
      await worker.close();
    }
    const body = (await call(`fetch/${id}`)).json();
    const file = `${id}-0-${(await api.jobs.get(String(id)))?.fileToken}.png`;
    expect(file).toMatch(/^\d+-0-[0-9a-f]{32}\.png$/);
    expect(body.output[0]).toContain(`${s3.endpoint}/shared/cn/outputs/${file}?`);
    const png = Buffer.from(await (await fetch(body.output[0])).arrayBuffer());
    expect((await sharp(png).metadata()).width).toBe(64);
    const keys = await s3.keys('shared');
    expect(keys).toContain(`cn/outputs/${file}`);
    expect(keys.filter((k) => k.startsWith(`cn/inputs/${id}/`))).toEqual([]);
    const client = await redis.client();
    expect(await client.send('KEYS', ['cn:blob:*'])).toEqual([]);
  }, 90_000);

  it('uploads go to the bucket and are served by the API node; update_s3 is refused with the reason', async () => {
    const png = await testPng(16, 16);
    const upload = (await call('upload_image', { base64_image: png.toString('base64') })).json();
    const name = new URL(upload.link).pathname.split('/').pop()!;
    expect((await s3.object('shared', `cn/uploads/${name}`)).bytes.equals(png)).toBe(true);
    const served = await api.app.inject({ method: 'GET', url: `/uploads/${name}` });
    expect(served.statusCode).toBe(200);
    expect(served.rawPayload.equals(png)).toBe(true);
    const refused = await call('update_s3', { bucket: 'shared', endpoint_url: s3.endpoint });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/^update_s3: with QUEUE=redis every node must write where the others read/);
    expect((await call('system_details')).json().output_store).toMatchObject({ type: 's3', bucket: 'shared', prefix: 'cn/' });
  });

  it('a store that is down: a new job is refused with 503 and a neutral message', async () => {
    const port = s3.port;
    await s3.close();
    try {
      const res = await call('controlnet', { controlnet_model: 'canny', init_image: image, width: 64, height: 64, num_inference_steps: 2 });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'error', message: 'the S3 output store could not store an object (ECONNREFUSED: the store did not answer)' });
      expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      s3 = await startS3Server(['shared'], port);
    }
  });
});
