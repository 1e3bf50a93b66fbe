import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { startServerProcess } from '../helpers/server-process.js';

it('clear_cache while a job runs: the job completes (its fused step graph too), then the sessions are released (and reload for the next job)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-clear-cache-'));
  const server = await startServerProcess({ DATA_DIR: dir, API_KEYS: 'client', ADMIN_API_KEYS: 'admin', SYNC_TIMEOUT_S: '0' });
  try {
    const image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
    const job = (steps: number) => ({
      key: 'client',
      controlnet_model: 'canny',
      init_image: image,
      // 256x256 x 40 steps runs for seconds on the tiny model: clear_cache, sent after step 1, arrives mid-run.
      width: 256,
      height: 256,
      num_inference_steps: steps,
      instant_response: 'yes',
    });
    const { id } = (await server.post('/api/v1/enterprise/controlnet', job(40))).json;
    // Wait until it is really running (a step done), then pull the sessions from under it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'client' });
      if (res.json.state === 'running' && res.json.progress?.step >= 1) {
        expect(res.json.progress.step).toBeLessThan(40);
        break;
      }
      expect(res.json.status, JSON.stringify(res.json)).toBe('processing');
      if (Date.now() > deadline) throw new Error(`job never ran:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The job runs the fused step graph (FUSED_STEP=auto): listed, with its bytes, and held by the job.
    const open = (await server.post('/api/v1/enterprise/system_details', { key: 'client' })).json.loaded_sessions;
    expect(open.filter((s: { kind: string }) => s.kind === 'fused_step')).toEqual([expect.objectContaining({ held: true, bytes: expect.any(Number) })]);
    const cleared = await server.post('/api/v1/enterprise/clear_cache', { key: 'admin' });
    expect(cleared.json).toMatchObject({ status: 'success' });
    // clear_cache answered once the generation was done (the record follows a moment later), and did not fail it.
    let done = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'client' });
    for (let k = 0; k < 100 && done.json.status === 'processing'; k++) {
      expect(done.json.progress).toEqual({ step: 40, total: 40 });
      await new Promise((r) => setTimeout(r, 50));
      done = await server.post(`/api/v1/enterprise/fetch/${id}`, { key: 'client' });
    }
    expect(done.json, server.output()).toMatchObject({ status: 'success', id });
    expect(done.json.meta.steps).toBe(40);
    expect(server.output()).not.toMatch(/disposed/i);
    expect((await server.post('/api/v1/enterprise/system_details', { key: 'client' })).json.loaded_sessions).toEqual([]);

    const next = (await server.post('/api/v1/enterprise/controlnet', job(2))).json.id;
    let after = await server.post(`/api/v1/enterprise/fetch/${next}`, { key: 'client' });
    for (let k = 0; k < 600 && after.json.status === 'processing'; k++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await server.post(`/api/v1/enterprise/fetch/${next}`, { key: 'client' });
    }
    expect(after.json.status).toBe('success');
  } finally {
    await server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
