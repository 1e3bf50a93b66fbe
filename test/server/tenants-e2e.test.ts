import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { startServerProcess } from '../helpers/server-process.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;

/** The endpoints that change the server for everyone: admin keys only. */
const ADMIN_ONLY = ['load_model', 'delete_model', 'load_vae', 'clear_cache', 'clear_queue', 'restart_server'];
/** What client keys keep. */
const CLIENT = ['system_details', 'schedulers_list', 'get_all_models', 'verify_model'];

let image: string;
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-tenants-'));
  dirs.push(dir);
  return dir;
};
const job = (key: string, extra: Record<string, unknown> = {}) => ({
  key,
  controlnet_model: 'canny',
  init_image: image,
  width: 64,
  height: 64,
  num_inference_steps: 2,
  seed: 1,
  prompt: 'k1 secret prompt',
  ...extra,
});

beforeAll(async () => {
  image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('tenants: API_KEYS=k1,k2 and ADMIN_API_KEYS=adm', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServerProcess({ DATA_DIR: dataDir(), API_KEYS: 'k1,k2', ADMIN_API_KEYS: 'adm', SYNC_TIMEOUT_S: '30' });
  });
  afterAll(() => server?.kill('SIGTERM'));

  it("a job is its key's: k2 gets the same 404 as for a missing job on fetch (both forms) and events; k1 and the admin read it", async () => {
    const made = await server.post('/api/v1/enterprise/controlnet', job('k1'));
    expect(made.status, JSON.stringify(made.json)).toBe(200);
    const { id, output } = made.json;
    expect(Number.isSafeInteger(id)).toBe(true);
    expect(String(id)).toMatch(/^\d{16}$/);
    expect(output[0]).toMatch(new RegExp(`/generations/${id}-0-[0-9a-f]{32}\\.png$`));

    const missingId = id === 1_000_000_000_000_000 ? id + 1 : id - 1;
    const missing = await server.post(`/api/v1/enterprise/fetch/${missingId}`, { key: 'k2' });
    const other = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'k2' });
    expect(other.status).toBe(404);
    expect(other.json.message).toBe(missing.json.message.replace(String(missingId), String(id)));
    expect(JSON.stringify(other.json)).not.toContain('secret');
    expect((await server.post('/api/v1/enterprise/fetch', { key: 'k2', request_id: String(id) })).status).toBe(404);
    const events = await fetch(`${server.base}/api/v1/enterprise/jobs/${id}/events?key=k2`);
    expect(events.status).toBe(404);
    expect(await events.text()).not.toContain('secret');

    const own = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'k1' });
    expect(own.json).toMatchObject({ status: 'success', id, meta: { prompt: 'k1 secret prompt' } });
    const admin = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'adm' });
    expect(admin.json).toMatchObject({ status: 'success', id });
    const stream = await fetch(`${server.base}/api/v1/enterprise/jobs/${id}/events`, { headers: { 'x-api-key': 'k1' } });
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('event: done');

    // The output URL is the capability: served as given, not with a guessed name.
    const png = await fetch(`${server.base}${new URL(output[0]).pathname}`);
    expect(png.status).toBe(200);
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect((await fetch(`${server.base}/generations/${id}-0.png`)).status).toBe(404);
    const wrongToken = new URL(output[0]).pathname.replace(/-([0-9a-f])([0-9a-f]{31})\.png$/, (_, c, rest) => `-${c === 'a' ? 'b' : 'a'}${rest}.png`);
    expect((await fetch(`${server.base}${wrongToken}`)).status).toBe(404);
  });

  it('ids are random, not a clock or a counter', async () => {
    const ids: number[] = [];
    for (let k = 0; k < 3; k++) ids.push((await server.post('/api/v1/enterprise/controlnet', job('k2', { instant_response: 'yes', seed: k }))).json.id);
    for (let k = 1; k < ids.length; k++) expect(Math.abs(ids[k] - ids[k - 1])).toBeGreaterThan(1_000_000);
  });

  it('clear_queue with a request_id: the owner removes its waiting job; another key gets the 404 of a missing job', async () => {
    const running = (
      await server.post('/api/v1/enterprise/controlnet', job('k1', { instant_response: 'yes', width: 384, height: 384, num_inference_steps: 40 }))
    ).json.id;
    const waiting = (await server.post('/api/v1/enterprise/controlnet', job('k1', { instant_response: 'yes' }))).json.id;
    const stranger = await server.post('/api/v1/enterprise/clear_queue', { key: 'k2', request_id: waiting });
    expect(stranger.status).toBe(404);
    expect(stranger.json).toEqual({ status: 'error', message: `request_id: no job ${waiting} on this server` });
    expect((await server.post(`/api/v1/enterprise/fetch/${waiting}`, { key: 'k1' })).json.status).toBe('processing');
    const own = await server.post('/api/v1/enterprise/clear_queue', { key: 'k1', request_id: String(waiting) });
    expect(own.json).toEqual({ status: 'success', message: `removed queued job ${waiting}` });
    expect((await server.post(`/api/v1/enterprise/fetch/${waiting}`, { key: 'k1' })).json).toMatchObject({
      status: 'failed',
      message: 'removed from the queue by clear_queue',
    });
    await expect.poll(async () => (await server.post(`/api/v1/enterprise/fetch/${running}`, { key: 'k1' })).json.state, { timeout: 30_000 }).toBe('running');
    const busy = await server.post('/api/v1/enterprise/clear_queue', { key: 'k1', request_id: running });
    expect(busy.status).toBe(409);
    expect(busy.json.message).toMatch(/only waiting jobs can be removed/);
  });

  it('client keys get a 403 in the contract shape on the endpoints that change the server; the admin key passes', async () => {
    for (const name of ADMIN_ONLY) {
      const res = await server.post(`/api/v1/enterprise/${name}`, { key: 'k1', model_id: 'tiny-sd15', url: '/nowhere', vae_id: 'v', vae_url: '/nowhere' });
      expect(res.status, name).toBe(403);
      expect(res.json).toEqual({ status: 'error', message: expect.stringMatching(new RegExp(`^key: ${name} needs an admin key \\(ADMIN_API_KEYS\\)`)) });
    }
    for (const name of CLIENT) {
      const res = await server.post(`/api/v1/enterprise/${name}`, { key: 'k1', model_id: 'tiny-sd15' });
      expect(res.status, name).toBe(200);
    }
    expect((await server.post('/api/v1/enterprise/clear_queue', { key: 'adm' })).json.status).toBe('success');
    expect((await server.post('/api/v1/enterprise/clear_cache', { key: 'adm' })).json.status).toBe('success');
    // A wrong key is still a 401, never a 403.
    expect((await server.post('/api/v1/enterprise/clear_cache', { key: 'nope' })).status).toBe(401);
  });
});

describe('admin keys by default', () => {
  it('with API_KEYS set and ADMIN_API_KEYS unset, the changing endpoints answer 403 naming ADMIN_API_KEYS, and the log says so', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir(), API_KEYS: 'k1' });
    try {
      const res = await server.post('/api/v1/enterprise/restart_server', { key: 'k1' });
      expect(res.status).toBe(403);
      expect(res.json.message).toMatch(/set ADMIN_API_KEYS on the server/);
      expect(server.output()).toMatch(/ADMIN_API_KEYS is not set/);
    } finally {
      await server.kill('SIGTERM');
    }
  });

  it('with neither set (dev mode), the default key is one tenant and the admin, with a warning in the log', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir(), API_KEYS: '', ADMIN_API_KEYS: '' });
    try {
      expect((await server.post('/api/v1/enterprise/clear_cache', { key: 'enterprise_api_key' })).json.status).toBe('success');
      expect(server.output()).toMatch(/also the admin key/);
    } finally {
      await server.kill('SIGTERM');
    }
  });
});
