import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { assembleServer, createLogger } from '../../src/assemble.js';
import { MODELS_DIR } from './models.js';

export const API_KEY = 'test-key';

/**
 * The real server stack — Fastify app, model registry, job service with SQLite, an inference worker
 * thread with onnxruntime sessions on the tiny models — with its data in a temporary folder.
 * `dataDir` lets a test restart a server on the same data.
 */
export async function startTestServer(env: Record<string, string> = {}, dataDir?: string) {
  const dir = dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'cn-test-'));
  const config = loadConfig({
    MODELS_DIR,
    DATA_DIR: dir,
    API_KEYS: API_KEY,
    // The one test key may also change the server (tests of admin vs client keys set their own).
    ADMIN_API_KEYS: API_KEY,
    THREADS: '1',
    LOG_LEVEL: 'silent',
    PRELOAD_CONTROLNETS: 'none',
    ...env,
  } as NodeJS.ProcessEnv);
  const server = await assembleServer(config, createLogger(config));
  await server.app.ready();
  return {
    ...server,
    dataDir: dir,
    /** Closes the server; keeps its data when `keepData` (restart tests). */
    close: async (keepData = false) => {
      await server.close();
      if (!keepData && !dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
