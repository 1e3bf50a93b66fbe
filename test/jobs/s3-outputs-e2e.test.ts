import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { S3RVER_CREDENTIALS, startS3Server } from '../helpers/s3-server.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { startWebhookReceiver } from '../helpers/webhook-server.js';
import { ALLOW_LOOPBACK_FETCHES } from '../helpers/image-server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

/**
 * Outputs in an S3-compatible store: a real s3rver on 127.0.0.1, the real server stack on the tiny
 * models, generated PNGs fetched back through the URLs the API hands out and decoded.
 * (s3rver answers any GET whatever its signature, so a URL's lifetime is read from its X-Amz-Expires.)
 */
describe('outputs on S3-compatible storage', () => {
  let s3: S3Server;
  let image: string;

  beforeAll(async () => {
    // The SDK's default credential chain reads these, as in production.
    Object.assign(process.env, S3RVER_CREDENTIALS);
    s3 = await startS3Server(['outputs', 'other']);
    image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
  });
  afterAll(async () => {
    await s3?.close();
  });

  const job = (extra: Record<string, unknown> = {}) => ({
    key: API_KEY,
    controlnet_model: 'canny',
    auto_hint: 'yes',
    init_image: image,
    width: 64,
    height: 64,
    num_inference_steps: 2,
    seed: 7,
    ...extra,
  });
  const post = (server: TestServer, url: string, payload: object) => server.app.inject({ method: 'POST', url, payload });
  const generate = (server: TestServer, extra: Record<string, unknown> = {}) => post(server, '/api/v1/enterprise/controlnet', job(extra));
  /** The random part of a job's output names (<id>-<n>-<token>.png, 128 bits), from its record. */
  const token = async (server: TestServer, id: unknown) => {
    const t = (await server.jobs.get(String(id)))?.fileToken;
    expect(t).toMatch(/^[0-9a-f]{32}$/);
    return t;
  };
  const pngSize = async (bytes: Buffer) => {
    const meta = await sharp(bytes).metadata();
    return [meta.format, meta.width, meta.height];
  };
  const download = async (url: string) => {
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  describe('OUTPUT_STORE=s3 from the environment (presigned URLs)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        ...ALLOW_LOOPBACK_FETCHES,
        OUTPUT_STORE: 's3',
        S3_BUCKET: 'outputs',
        S3_PREFIX: 'cn',
        S3_ENDPOINT: s3.endpoint,
        S3_PRESIGN_S: '600',
        TEMP_TTL_S: '120',
        ...ALLOW_LOOPBACK_FETCHES, // the webhook receiver listens on 127.0.0.1
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('uploads the PNGs and answers presigned GET URLs that serve them', async () => {
      const res = await generate(server, { samples: 2 });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.status).toBe('success');
      expect(body.output).toHaveLength(2);
      for (const [n, url] of (body.output as string[]).entries()) {
        const u = new URL(url);
        expect(`${u.origin}${u.pathname}`).toBe(`${s3.endpoint}/outputs/cn/outputs/${body.id}-${n}-${await token(server, body.id)}.png`);
        expect(u.searchParams.get('X-Amz-Expires')).toBe('600');
        expect(u.searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\//);
        expect(u.searchParams.has('X-Amz-Signature')).toBe(true);
        expect(await pngSize(await download(url))).toEqual(['png', 64, 64]);
      }
      expect(await s3.keys('outputs')).toEqual(
        expect.arrayContaining([`cn/outputs/${body.id}-0-${await token(server, body.id)}.png`, `cn/outputs/${body.id}-1-${await token(server, body.id)}.png`]),
      );
      expect((await s3.object('outputs', `cn/outputs/${body.id}-0-${await token(server, body.id)}.png`)).contentType).toBe('image/png');
      // Nothing on the node's disk.
      expect(existsSync(path.join(server.config.outputDir, `${body.id}-0-${await token(server, body.id)}.png`))).toBe(false);
      const record = await server.jobs.get(String(body.id));
      expect(record!.result!.s3).toEqual({ bucket: 'outputs', prefix: 'cn/', publicUrl: null });

      // fetch presigns again; the server's own URL (future_links) redirects to the object.
      const fetched = (await post(server, `/api/v1/enterprise/fetch/${body.id}`, { key: API_KEY })).json();
      expect(fetched.status).toBe('success');
      expect(fetched.output[0]).toContain(`/outputs/cn/outputs/${body.id}-0-${await token(server, body.id)}.png?`);
      const local = await server.app.inject({ method: 'GET', url: `/generations/${body.id}-1-${await token(server, body.id)}.png` });
      expect(local.statusCode).toBe(302);
      expect(await pngSize(await download(local.headers.location as string))).toEqual(['png', 64, 64]);
    });

    it('base64: "yes" reads the PNGs back from the store', async () => {
      const body = (await generate(server, { base64: 'yes' })).json();
      expect(body.status).toBe('success');
      expect(await pngSize(Buffer.from(body.output[0], 'base64'))).toEqual(['png', 64, 64]);
      expect(body.output_urls[0]).toContain(`/outputs/cn/outputs/${body.id}-0-${await token(server, body.id)}.png?`);
    });

    it('temp outputs: under temp/, URLs that live no longer than the output, deleted by the sweep', async () => {
      const body = (await generate(server, { temp: 'yes' })).json();
      expect(body.status).toBe('success');
      const url = new URL(body.output[0]);
      expect(url.pathname).toBe(`/outputs/cn/temp/${body.id}-0-${await token(server, body.id)}.png`);
      const lifetime = Number(url.searchParams.get('X-Amz-Expires'));
      expect(lifetime).toBeGreaterThan(100);
      expect(lifetime).toBeLessThanOrEqual(120);
      expect(await pngSize(await download(body.output[0]))).toEqual(['png', 64, 64]);
      const record = (await server.jobs.get(String(body.id)))!;
      expect(record.expiresAt! - record.finishedAt!).toBe(120_000);
      expect(await s3.keys('outputs')).toContain(`cn/temp/${body.id}-0-${await token(server, body.id)}.png`);
      expect(await server.jobs.sweepExpired(record.expiresAt! - 1)).toBe(0);
      expect(await server.jobs.sweepExpired(record.expiresAt! + 1)).toBeGreaterThanOrEqual(1);
      expect(await s3.keys('outputs')).not.toContain(`cn/temp/${body.id}-0-${await token(server, body.id)}.png`);
      expect((await post(server, `/api/v1/enterprise/fetch/${body.id}`, { key: API_KEY })).statusCode).toBe(410);
      expect((await server.app.inject({ method: 'GET', url: `/generations/${body.id}-0-${await token(server, body.id)}.png` })).statusCode).toBe(410);
    });

    it('the webhook carries presigned URLs too', async () => {
      const hook = await startWebhookReceiver([200]);
      try {
        const id = (await generate(server, { webhook: hook.url, instant_response: 'yes' })).json().id;
        await hook.waitFor(1);
        const sent = hook.received[0].body as { status: string; id: number; output: string[] };
        expect(sent).toMatchObject({ status: 'success', id });
        expect(sent.output[0]).toContain(`${s3.endpoint}/outputs/cn/outputs/${id}-0-${await token(server, id)}.png?`);
        expect(await pngSize(await download(sent.output[0]))).toEqual(['png', 64, 64]);
      } finally {
        await hook.close();
      }
    });

    it('upload_image stores the upload in the bucket too', async () => {
      const png = await testPng(32, 32);
      const res = await post(server, '/api/v1/enterprise/upload_image', { key: API_KEY, base64_image: png.toString('base64') });
      expect(res.statusCode).toBe(200);
      const name = new URL(res.json().link).pathname.split('/').pop()!;
      expect((await s3.object('outputs', `cn/uploads/${name}`)).bytes.equals(png)).toBe(true);
    });

    it('system_details shows the store without credentials', async () => {
      const details = (await post(server, '/api/v1/enterprise/system_details', { key: API_KEY })).json();
      expect(details.output_store).toEqual({
        type: 's3',
        bucket: 'outputs',
        prefix: 'cn/',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        force_path_style: true,
        public_url: null,
        presign_seconds: 600,
        credentials: 'default AWS credential chain',
      });
      expect(JSON.stringify(details)).not.toContain('S3RVER');
    });
  });

  describe('OUTPUT_STORE=local switched to S3 by update_s3; public URLs; a store that is down', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ PUBLIC_URL: 'http://cn.test' });
    });
    afterAll(async () => {
      await server?.close();
    });
    const updateS3 = (payload: Record<string, unknown>) => post(server, '/api/v1/enterprise/update_s3', { key: API_KEY, ...payload });
    // The hosted API's body, with s3rver's address and this server's `bucket` field.
    const hosted = (extra: Record<string, unknown> = {}) => ({
      deploy_type: 'text_to_image',
      region_name: 'us-east-1',
      endpoint_url: s3.endpoint,
      aws_access_key_id: 'S3RVER',
      aws_secret_access_key: 'S3RVER',
      image_directory: 'generations',
      bucket: 'outputs',
      ...extra,
    });

    it('starts on local files', async () => {
      const body = (await generate(server)).json();
      expect(body.output[0]).toBe(`http://cn.test/generations/${body.id}-0-${await token(server, body.id)}.png`);
      const details = (await post(server, '/api/v1/enterprise/system_details', { key: API_KEY })).json();
      expect(details.output_store).toEqual({ type: 'local' });
    });

    it("update_s3 is in the OpenAPI document with the hosted API's fields", async () => {
      const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const schema = doc.paths['/api/v1/enterprise/update_s3'].post.requestBody.content['application/json'].schema;
      for (const field of ['key', 'public_url', 'region_name', 'endpoint_url', 'aws_access_key_id', 'aws_secret_access_key', 'image_directory', 'bucket']) {
        expect(schema.properties, field).toHaveProperty(field);
      }
    });

    it('refuses bad settings, naming the field, and changes nothing', async () => {
      expect((await post(server, '/api/v1/enterprise/update_s3', { key: 'wrong', ...hosted() })).statusCode).toBe(401);
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ aws_secret_access_key: null }, /^aws_secret_access_key: required with aws_access_key_id/],
        [{ bucket: 'a b' }, /^bucket: not a bucket name/],
        [{ bucket: null }, /^bucket: required/],
        [{ endpoint_url: 'ftp://x' }, /^endpoint_url: must be an http\(s\) URL/],
        [{ public_url: 'http://u:p@cdn.test' }, /^public_url: must not carry credentials/],
        [{ presign_seconds: 0 }, /^presign_seconds: must be an integer from 1 to 604800/],
        [{ deploy_type: 'video' }, /^deploy_type: this server has one deploy type/],
        [{ image_directory: '../x' }, /^image_directory: /],
        [
          { bucket: 'missing-bucket' },
          /^update_s3: the S3 output store could not store an object \(NoSuchBucket, HTTP 404\) with these settings; nothing was changed/,
        ],
      ];
      for (const [extra, message] of cases) {
        const res = await updateS3(hosted(extra));
        expect(res.statusCode, JSON.stringify(extra)).toBe(400);
        expect(res.json()).toEqual({ status: 'error', message: expect.stringMatching(message) });
      }
      expect((await post(server, '/api/v1/enterprise/system_details', { key: API_KEY })).json().output_store).toEqual({ type: 'local' });
    });

    it('update_s3 with a public_url: outputs at public URLs; system_details shows the settings, never the secret', async () => {
      const res = await updateS3(hosted({ public_url: `${s3.endpoint}/outputs/generations/` }));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'success', output_store: { type: 's3', bucket: 'outputs', prefix: 'generations/' } });
      const body = (await generate(server, { samples: 2 })).json();
      const t = await token(server, body.id);
      expect(body.output).toEqual([0, 1].map((n) => `${s3.endpoint}/outputs/generations/outputs/${body.id}-${n}-${t}.png`));
      expect(await pngSize(await download(body.output[1]))).toEqual(['png', 64, 64]);
      const details = (await post(server, '/api/v1/enterprise/system_details', { key: API_KEY })).json();
      expect(details.output_store).toEqual({
        type: 's3',
        bucket: 'outputs',
        prefix: 'generations/',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        force_path_style: true,
        public_url: `${s3.endpoint}/outputs/generations`,
        presign_seconds: null,
        credentials: 'set by update_s3',
      });
      expect(JSON.stringify(details)).not.toContain('S3RVER');
      // upload_image links to the public copy.
      const upload = (await post(server, '/api/v1/enterprise/upload_image', { key: API_KEY, base64_image: (await testPng(16, 16)).toString('base64') })).json();
      expect(upload.link).toMatch(new RegExp(`^${s3.endpoint}/outputs/generations/uploads/[0-9a-f-]{36}\\.png$`));
      expect(await pngSize(await download(upload.link))).toEqual(['png', 16, 16]);
    });

    it('fields left out keep their values; outputs written before a change stay reachable', async () => {
      const before = (await generate(server)).json();
      const res = await updateS3({ bucket: 'other', public_url: '' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().output_store).toMatchObject({
        bucket: 'other',
        prefix: 'generations/',
        public_url: null,
        presign_seconds: 3600,
        credentials: 'set by update_s3',
      });
      const after = (await generate(server)).json();
      expect(after.output[0]).toContain(`${s3.endpoint}/other/generations/outputs/${after.id}-0-${await token(server, after.id)}.png?`);
      expect(await pngSize(await download(after.output[0]))).toEqual(['png', 64, 64]);
      const old = (await post(server, `/api/v1/enterprise/fetch/${before.id}`, { key: API_KEY })).json();
      expect(old.output[0]).toBe(`${s3.endpoint}/outputs/generations/outputs/${before.id}-0-${await token(server, before.id)}.png`);
      expect(await pngSize(await download(old.output[0]))).toEqual(['png', 64, 64]);
    });

    it('a store that is down: the job fails with a neutral message, its record stays, the server keeps serving', async () => {
      const down = await startS3Server(['outputs']);
      expect((await updateS3(hosted({ endpoint_url: down.endpoint, public_url: '' }))).statusCode).toBe(200);
      await down.close();

      const res = await generate(server);
      expect(res.statusCode).toBe(500);
      const failed = res.json();
      expect(failed).toMatchObject({ status: 'error', message: 'the S3 output store could not store an object (ECONNREFUSED: the store did not answer)' });
      expect(failed.message).not.toMatch(/127\.0\.0\.1|S3RVER|:\d{2,5}/);
      const fetched = await post(server, `/api/v1/enterprise/fetch/${failed.id}`, { key: API_KEY });
      expect(fetched.json()).toMatchObject({ status: 'failed', id: failed.id, message: failed.message });
      expect((await server.jobs.get(String(failed.id)))!.state).toBe('failed');

      // update_s3 to the store that is down is refused; pointing back at a live one restores outputs.
      const refused = await updateS3(hosted({ endpoint_url: down.endpoint }));
      expect(refused.statusCode).toBe(400);
      expect(refused.json().message).toMatch(/^update_s3: the S3 output store could not store an object \(ECONNREFUSED/);
      expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await updateS3(hosted())).statusCode).toBe(200);
      const ok = (await generate(server)).json();
      expect(ok.status).toBe('success');
      expect(await pngSize(await download(ok.output[0]))).toEqual(['png', 64, 64]);
    });
  });
});
