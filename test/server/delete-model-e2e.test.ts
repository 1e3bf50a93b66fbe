import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../helpers/models.js';
import { startServerProcess } from '../helpers/server-process.js';

/** A models folder of its own, with the files an operator keeps beside the models. */
const models = mkdtempSync(path.join(os.tmpdir(), 'cn-delete-models-'));
const data = mkdtempSync(path.join(os.tmpdir(), 'cn-delete-data-'));
let server: Awaited<ReturnType<typeof startServerProcess>>;

beforeAll(async () => {
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(models, 'tiny-sd15'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'tiny-sd15'), path.join(models, 'spare'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'canny'), path.join(models, 'controlnet', 'canny'), { recursive: true });
  cpSync(path.join(MODELS_DIR, 'controlnet', 'depth'), path.join(models, 'controlnet', 'depth'), { recursive: true });
  writeFileSync(path.join(models, 'README.md'), '# my notes\n');
  writeFileSync(path.join(models, 'aliases.json'), '{"midjourney":"tiny-sd15"}\n');
  mkdirSync(path.join(models, 'notes'));
  writeFileSync(path.join(models, 'notes', 'todo.txt'), 'keep me\n');
  mkdirSync(path.join(models, 'controlnet', 'drafts'));
  writeFileSync(path.join(models, 'controlnet', 'drafts', 'ideas.txt'), 'keep me\n');
  mkdirSync(path.join(models, 'annotators'), { recursive: true });
  server = await startServerProcess({ MODELS_DIR: models, DATA_DIR: data, API_KEYS: 'client', ADMIN_API_KEYS: 'admin', DEFAULT_MODEL: 'tiny-sd15' });
});
afterAll(async () => {
  await server?.kill('SIGKILL');
  rmSync(models, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const remove = (model_id: string, model_type?: string) =>
  server.post('/api/v1/enterprise/delete_model', { key: 'admin', model_id, ...(model_type ? { model_type } : {}) });

describe('delete_model deletes only models of the kind asked', () => {
  it('refuses files and folders that are not models, with a 4xx naming model_id, and deletes nothing', async () => {
    const cases: [string, string | undefined, number][] = [
      ['README.md', 'huggingface', 400],
      ['README.md', undefined, 404],
      ['aliases.json', 'huggingface', 400],
      ['annotators', 'huggingface', 400],
      ['notes', 'huggingface', 400],
      ['drafts', 'controlnet', 400],
      ['spare', 'controlnet', 404],
      ['canny', 'vae', 404],
    ];
    for (const [id, type, status] of cases) {
      const res = await remove(id, type);
      expect(res.status, `${id} as ${type}`).toBe(status);
      expect(res.json).toEqual({ status: 'error', message: expect.stringMatching(/^model_id: /) });
    }
    for (const file of [
      'README.md',
      'aliases.json',
      'notes/todo.txt',
      'controlnet/drafts/ideas.txt',
      'annotators',
      'spare/unet/model.onnx',
      'controlnet/canny/model.onnx',
    ]) {
      expect(existsSync(path.join(models, file)), file).toBe(true);
    }
  });

  it('deletes a base model folder and a ControlNet folder', async () => {
    expect((await remove('spare', 'huggingface')).json).toMatchObject({ status: 'success' });
    expect(existsSync(path.join(models, 'spare'))).toBe(false);
    expect((await remove('depth', 'controlnet')).json).toMatchObject({ status: 'success' });
    expect(existsSync(path.join(models, 'controlnet', 'depth'))).toBe(false);
    const all = (await server.post('/api/v1/enterprise/get_all_models', { key: 'client' })).json.models.map((m: { model_id: string }) => m.model_id);
    expect(all).not.toContain('spare');
    expect(all).not.toContain('depth');
    expect(all).toContain('canny');
  });
});
