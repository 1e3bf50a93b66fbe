import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { ALLOW_LOOPBACK_FETCHES, startImageServer } from '../helpers/image-server.js';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { API_KEY, startTestServer } from '../helpers/server.js';
import { SCHEDULER_NAMES } from '../../src/schedulers/registry.js';

/** A copy of the tiny models, so these tests can add and delete models freely. */
const modelsCopy = mkdtempSync(path.join(os.tmpdir(), 'cn-models-'));
const imports = mkdtempSync(path.join(os.tmpdir(), 'cn-imports-'));
let server: Awaited<ReturnType<typeof startTestServer>>;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(modelsCopy, 'tiny-sd15'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'canny'), path.join(modelsCopy, 'controlnet', 'canny'), { recursive: true });
  // Folders "already on the server" that load_model / load_vae will link.
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(imports, 'my-model'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'depth'), path.join(imports, 'my-depth'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'tiny-sd15', 'vae_decoder'), path.join(imports, 'my-vae', 'vae_decoder'), { recursive: true });
  server = await startTestServer({ ...ALLOW_LOOPBACK_FETCHES, MODELS_DIR: modelsCopy });
  images = await startImageServer({ '/photo.png': { body: await testPng(64, 64) } });
});
afterAll(async () => {
  await images?.close();
  await server?.close();
  rmSync(modelsCopy, { recursive: true, force: true });
  rmSync(imports, { recursive: true, force: true });
});

const call = (name: string, payload: Record<string, unknown> = {}) =>
  server.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: API_KEY, ...payload } });
const generate = (extra: Record<string, unknown>) =>
  call('controlnet', { controlnet_model: 'canny', init_image: images.url('/photo.png'), width: 64, height: 64, num_inference_steps: 2, seed: 3, ...extra });

describe('management endpoints', () => {
  it('every endpoint needs the key', async () => {
    for (const name of [
      'system_details',
      'schedulers_list',
      'get_all_models',
      'load_model',
      'verify_model',
      'delete_model',
      'load_vae',
      'clear_cache',
      'clear_queue',
      'restart_server',
      'upload_image',
    ]) {
      const res = await server.app.inject({ method: 'POST', url: `/api/v1/enterprise/${name}`, payload: { key: 'nope' } });
      expect(res.statusCode, name).toBe(401);
    }
  });

  it('system_details reports models, queue, execution providers and versions', async () => {
    const res = await call('system_details');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      model_count: 1,
      queue: { waiting: 0, running: 0 },
      models: ['tiny-sd15'],
      controlnets: { 'tiny-sd15': ['canny'] },
      execution_providers: { requested: ['cpu'] },
      versions: { node: process.version },
      role: 'both',
      queue_backend: 'local',
    });
  });

  it('schedulers_list lists the 18 names and which ones can generate (GET and POST)', async () => {
    const post = (await call('schedulers_list')).json();
    expect(post.schedulers).toEqual([...SCHEDULER_NAMES]);
    expect(post.details.find((d: { name: string }) => d.name === 'KarrasVeScheduler')).toMatchObject({ usable_for_generation: false });
    expect(post.details.find((d: { name: string }) => d.name === 'EulerDiscreteScheduler')).toMatchObject({ usable_for_generation: true, karras_sigmas: true });
    const get = await server.app.inject({ method: 'GET', url: '/api/v1/enterprise/schedulers_list' });
    expect(get.json()).toEqual(post);
  });

  it('load_model links a local folder, get_all_models and verify_model see it, generation uses it, delete_model removes it', async () => {
    const load = await call('load_model', { model_id: 'my-model', url: path.join(imports, 'my-model'), model_type: 'huggingface' });
    expect(load.statusCode).toBe(200);
    expect(load.json()).toMatchObject({ status: 'success', model_id: 'my-model', model_type: 'model' });
    const all = (await call('get_all_models')).json();
    expect(all.status).toBe('success');
    expect(all.models).toEqual(
      expect.arrayContaining([expect.objectContaining({ model_id: 'my-model', model_type: 'stable-diffusion', load_data: expect.any(String) })]),
    );
    expect((await call('verify_model', { model_id: 'my-model' })).json()).toMatchObject({ status: 'success', model_type: 'model' });
    const gen = await generate({ model_id: 'my-model' });
    expect(gen.statusCode).toBe(200);
    expect(gen.json().meta.model).toBe('my-model');
    expect((await call('delete_model', { model_id: 'my-model' })).json().status).toBe('success');
    expect(existsSync(path.join(imports, 'my-model', 'unet', 'model.onnx'))).toBe(true); // the linked original stays
    expect((await call('verify_model', { model_id: 'my-model' })).statusCode).toBe(404);
    expect((await generate({ model_id: 'my-model' })).json().message).toMatch(/^model_id: unknown model "my-model"/);
  });

  it('load_model takes ControlNets too', async () => {
    const res = await call('load_model', { model_id: 'depth2', url: path.join(imports, 'my-depth'), model_type: 'controlnet' });
    expect(res.statusCode).toBe(200);
    const gen = await generate({ controlnet_model: 'depth2', controlnet_type: 'canny' });
    expect(gen.statusCode).toBe(200);
    expect(gen.json().meta.controlnet_model).toBe('depth2');
  });

  it('load_model refuses downloads, missing folders, bad ids and duplicates with a clear message', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model_id: 'x', url: 'https://civitai.com/api/download/models/94640' }, /^url: this server does not download models/],
      [{ model_id: 'x', url: 'wavymulder/Analog-Diffusion' }, /^url: give an absolute path .*"wavymulder\/Analog-Diffusion" cannot be downloaded here/],
      [{ model_id: 'x', url: '/nonexistent/folder' }, /^url: \/nonexistent\/folder does not exist on this server/],
      [{ model_id: 'x', url: imports }, /^url: .* is not a model folder/],
      [{ model_id: '../evil', url: path.join(imports, 'my-model') }, /^model_id: "..\/evil" is not a valid id/],
      [{ model_id: 'tiny-sd15', url: path.join(imports, 'my-model') }, /^model_id: "tiny-sd15" already exists/],
      [{ model_id: 'x', url: path.join(imports, 'my-model'), model_type: 'lora' }, /^url: .* is not a \.safetensors file/],
      [{ url: path.join(imports, 'my-model') }, /^model_id: required/],
    ];
    for (const [payload, message] of cases) {
      const res = await call('load_model', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().message).toMatch(message);
    }
  });

  it('delete_model refuses the default model and unknown ids', async () => {
    expect((await call('delete_model', { model_id: 'tiny-sd15' })).json().message).toMatch(/is the default model/);
    expect((await call('delete_model', { model_id: 'ghost' })).statusCode).toBe(404);
  });

  it('load_vae installs a VAE that requests then select with "vae"', async () => {
    const res = await call('load_vae', { vae_id: 'my-vae', vae_url: path.join(imports, 'my-vae'), vae_type: 'onnx' });
    expect(res.statusCode).toBe(200);
    const gen = await generate({ vae: 'my-vae' });
    expect(gen.statusCode).toBe(200);
    expect(gen.json().meta.vae).toBe('my-vae');
    expect((await generate({ vae: 'other' })).json().message).toMatch(/^vae: unknown VAE "other"; available: my-vae/);
    expect((await call('load_vae', { vae_id: 'v2', vae_url: path.join(imports, 'my-vae'), vae_type: 'safetensors' })).json().message).toMatch(/^vae_type: /);
  });

  it('clear_cache closes sessions; the next request reopens them', async () => {
    await generate({});
    const res = (await call('clear_cache')).json();
    expect(res.status).toBe('success');
    expect(res.message).toMatch(/released [1-9]\d* model sessions/);
    expect(await server.workers.loaded()).toEqual([]);
    expect((await generate({})).statusCode).toBe(200);
  });

  it('restart_server re-initialises the workers and keeps serving', async () => {
    expect((await call('restart_server')).json().status).toBe('success');
    expect((await generate({})).statusCode).toBe(200);
  });

  it('clear_queue fails waiting jobs with a reason', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await generate({ instant_response: 'yes', seed: 50 + i, num_inference_steps: 6 })).json().id);
    const cleared = (await call('clear_queue')).json();
    expect(cleared.message).toMatch(/^removed \d+ queued jobs/);
    const removed = Number(/removed (\d+)/.exec(cleared.message)![1]);
    expect(removed).toBeGreaterThanOrEqual(1);
    const last = await call(`fetch/${ids[2]}`);
    expect(last.json()).toMatchObject({ status: 'failed', message: 'removed from the queue by clear_queue' });
  });

  it('upload_image stores a base64 image and serves it', async () => {
    const png = await testPng(20, 10);
    const res = await call('upload_image', { base64_image: png.toString('base64'), image_type: 'png' });
    expect(res.statusCode).toBe(200);
    const { link } = res.json();
    const served = await server.app.inject({ method: 'GET', url: new URL(link).pathname });
    expect(served.headers['content-type']).toBe('image/png');
    expect((await sharp(served.rawPayload).metadata()).width).toBe(20);
    expect((await call('upload_image', { base64_image: 'aGVsbG8=', image_type: 'png' })).json().message).toMatch(/^base64_image: not a decodable image/);
    expect((await call('upload_image', { base64_image: png.toString('base64'), image_type: 'gif' })).json().message).toMatch(/^image_type: /);
  });
});

describe('observability', () => {
  it('exposes Prometheus metrics for the queue, jobs and stages', async () => {
    await generate({});
    const res = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const text = res.body;
    expect(text).toMatch(/^cn_queue_waiting 0$/m);
    expect(text).toMatch(/^cn_jobs_total\{state="succeeded",cause="none"\} [1-9]/m);
    expect(text).toMatch(/^cn_stage_seconds_count\{stage="unet"\} [1-9]/m);
    expect(text).toMatch(/^cn_job_seconds_bucket/m);
    expect(text).toMatch(/^cn_process_resident_memory_bytes/m);
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.0.3');
    const schema = doc.paths['/api/v1/enterprise/controlnet'].post.requestBody.content['application/json'].schema;
    for (const field of ['key', 'controlnet_model', 'init_image', 'width', 'scheduler', 'webhook', 'instant_response']) {
      expect(schema.properties, field).toHaveProperty(field);
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/enterprise/fetch/{id}', '/api/v1/enterprise/load_model']));
  });

  it('health and readiness', async () => {
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503); // warmUp() was not called in this test server
    await server.warmUp();
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ok' });
  });
});

describe('logs', () => {
  it('never contain the API key, prompts or base64 image data', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const { default: pino } = await import('pino');
    const { assembleServer } = await import('../../src/assemble.js');
    const { loadConfig } = await import('../../src/config.js');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-logs-'));
    const config = loadConfig({
      MODELS_DIR: modelsCopy,
      DATA_DIR: dir,
      API_KEYS: 'secret-key-123',
      THREADS: '1',
      PRELOAD_CONTROLNETS: 'none',
    } as NodeJS.ProcessEnv);
    const logged = await assembleServer(config, pino({ level: 'trace' }, sink));
    try {
      const b64 = (await testPng(64, 64)).toString('base64');
      const res = await logged.app.inject({
        method: 'POST',
        url: '/api/v1/enterprise/controlnet',
        payload: {
          key: 'secret-key-123',
          controlnet_model: 'canny',
          prompt: 'a very private prompt',
          base64: 'yes',
          init_image: b64,
          width: 64,
          height: 64,
          num_inference_steps: 2,
        },
      });
      expect(res.statusCode).toBe(200);
      await logged.app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload: { key: 'secret-key-123', width: 'x', init_image: b64 } });
      const all = lines.join('');
      expect(lines.length).toBeGreaterThan(2);
      expect(all).not.toContain('secret-key-123');
      expect(all).not.toContain('a very private prompt');
      expect(all).not.toContain(b64.slice(100, 160));
    } finally {
      await logged.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
