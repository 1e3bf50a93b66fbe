/**
 * A server with a small MODEL_MEMORY_BUDGET (the tiny base model and one ControlNet): start-up preloads what fits,
 * requests for other ControlNets and the other base model close idle sessions and succeed, a request that cannot fit
 * gets a 400 naming the budget, and system_details shows the open sessions, their sizes, the budget and start → ready.
 * With PRELOAD naming a ControlNet and WARMUP_SIZES, the fused graph is built at start and activations are measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { scanModels } from '../../src/runtime/catalog.js';
import { sessionBytes } from '../../src/runtime/session-bytes.js';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { startServerProcess } from '../helpers/server-process.js';

it('serves every request that fits under MODEL_MEMORY_BUDGET by closing idle sessions', async () => {
  const catalog = await scanModels(MODELS_DIR);
  const model = catalog.models.get('tiny-sd15')!;
  const files = [model.textEncoder, model.unet, model.vaeDecoder, model.vaeEncoder!, catalog.controlnets.get('tiny-sd15')!.get('canny')!];
  const budget = (await Promise.all(files.map(sessionBytes))).reduce((a, b) => a + b, 0) + 10_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-budget-'));
  const server = await startServerProcess({
    DATA_DIR: dir,
    API_KEYS: 'client',
    ADMIN_API_KEYS: 'admin',
    MODEL_MEMORY_BUDGET: String(budget),
    PRELOAD: 'default',
    LOG_LEVEL: 'info',
  });
  try {
    const details = async () => (await server.post('/api/v1/enterprise/system_details', { key: 'client' })).json;
    const first = await details();
    expect(first.memory_budget).toMatchObject({ budget_bytes: budget, source: 'MODEL_MEMORY_BUDGET' });
    expect(first.memory_budget.open_bytes).toBeLessThanOrEqual(budget);
    expect(first.loaded_sessions.filter((s: { kind: string }) => s.kind === 'controlnet')).toHaveLength(1);
    expect(first.start_to_ready_s).toBeGreaterThan(0);
    expect(server.output()).toMatch(/ControlNet\(s\) left closed, they do not fit MODEL_MEMORY_BUDGET/);
    expect(server.output()).toMatch(/"start_to_ready_ms":\d+/);

    const image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
    const job = (controlnet_model: string, model_id = 'tiny-sd15') => ({
      key: 'client',
      model_id,
      controlnet_model,
      init_image: image,
      width: 64,
      height: 64,
      num_inference_steps: 2,
    });
    for (const [cn, id] of [
      ['depth', 'tiny-sd15'],
      ['canny', 'tiny-sd15'],
      ['canny', 'tiny-sd15-fp16'],
      ['depth', 'tiny-sd15'],
    ]) {
      const res = await server.post('/api/v1/enterprise/controlnet', job(cn!, id));
      expect(res.json, server.output()).toMatchObject({ status: 'success' });
      const now = await details();
      expect(now.memory_budget.open_bytes).toBeLessThanOrEqual(budget);
      expect(now.loaded_sessions.reduce((sum: number, s: { bytes: number }) => sum + s.bytes, 0)).toBe(now.memory_budget.open_bytes);
    }
    expect(await server.outputMatching(/closed \w+ .* least recently used\) to make room/)).toMatch(/closed \w+ .* least recently used\) to make room/);

    const tooBig = await server.post('/api/v1/enterprise/controlnet', job('canny,depth'));
    expect(tooBig.status).toBe(400);
    expect(tooBig.json.status).toBe('error');
    expect(tooBig.json.message).toMatch(/MODEL_MEMORY_BUDGET/);
    expect(tooBig.json.message).not.toContain(MODELS_DIR);
    // And the server still serves what fits.
    expect((await server.post('/api/v1/enterprise/controlnet', job('canny'))).json).toMatchObject({ status: 'success' });
  } finally {
    await server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

it('warm-up with PRELOAD naming a ControlNet: the fused graph is ready at start, activations are measured and shown beside the weights', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-budget-warm-'));
  const server = await startServerProcess({
    DATA_DIR: dir,
    API_KEYS: 'client',
    ADMIN_API_KEYS: 'admin',
    PRELOAD: 'tiny-sd15,canny',
    WARMUP_SIZES: '64x64',
    LOG_LEVEL: 'info',
  });
  try {
    const details = (await server.post('/api/v1/enterprise/system_details', { key: 'client' })).json;
    expect(server.output()).toMatch(/fused step graph of the UNet and 1 ControlNet\(s\) ready/);
    const sessions = details.loaded_sessions as { kind: string; bytes: number; weights: number; activations: { bytes: number; measured: string } | null }[];
    const fused = sessions.find((s) => s.kind === 'fused_step')!;
    const unet = sessions.find((s) => s.kind === 'unet')!;
    expect(fused.activations?.measured).toBe('resident set growth over the first run at warm-up (64×64, batch 2)');
    expect(unet.activations!.bytes).toBeGreaterThan(0);
    expect(unet.bytes).toBe(unet.weights + unet.activations!.bytes);
    expect(sessions.find((s) => s.kind === 'text_encoder')!.activations).toBeNull();
    const budget = details.memory_budget;
    expect(budget.activation_bytes).toBeGreaterThan(0);
    expect(budget.weight_bytes + budget.activation_bytes).toBe(budget.open_bytes);
    expect(budget.counts).toMatch(/activations measured at warm-up/);

    const image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
    const res = await server.post('/api/v1/enterprise/controlnet', {
      key: 'client',
      controlnet_model: 'canny',
      init_image: image,
      width: 64,
      height: 64,
      num_inference_steps: 2,
    });
    expect(res.json, server.output()).toMatchObject({ status: 'success', meta: { step_graph: 'fused' } });
    expect(server.output().match(/fused step graph of the UNet and .* ready/g)).toHaveLength(1);
  } finally {
    await server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
