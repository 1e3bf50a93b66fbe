import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ServerConfig } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import { scanModels } from '../../src/runtime/catalog.js';
import { InferenceWorker } from '../../src/worker/worker-client.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { DEFAULT_MODEL_ID } from '../../src/runtime/default-models.js';
import { MODELS_DIR } from './models.js';

export const API_KEY = 'test-key';

/**
 * The real server stack — Fastify app, model catalog, an inference worker thread with onnxruntime
 * sessions on the tiny models — with its data in a temporary folder.
 */
export async function startTestServer(env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cn-test-'));
  const config: ServerConfig = loadConfig({
    MODELS_DIR,
    DATA_DIR: dataDir,
    API_KEYS: API_KEY,
    THREADS: '1',
    LOG_LEVEL: 'silent',
    ...env,
  } as NodeJS.ProcessEnv);
  const catalog = await scanModels(config.modelsDir);
  const worker = new InferenceWorker({ providers: config.executionProviders, deviceId: 0, threads: config.threads });
  const queue = new JobQueue([worker], config.maxQueue);
  const app = buildApp(
    { config, catalog: () => catalog, queue, defaultModel: DEFAULT_MODEL_ID, ready: () => true },
    { logger: config.logLevel === 'silent' ? false : { level: config.logLevel } },
  );
  await app.ready();
  return {
    app,
    config,
    worker,
    close: async () => {
      await app.close();
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
