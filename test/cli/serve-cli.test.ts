import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../helpers/models.js';
import { freePort } from '../helpers/server-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('controlnet-server serve', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('starts the HTTP server as npm start does, passing its flags on (--role)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cn-serve-'));
    dirs.push(dataDir);
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--role', 'both'], {
      cwd: ROOT,
      env: {
        ...process.env,
        MODELS_DIR,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        ENSURE_TINY_MODELS: 'false',
        LOG_LEVEL: 'warn',
        PRELOAD_CONTROLNETS: 'none',
        THREADS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let ready = false;
      for (const deadline = Date.now() + 90_000; !ready && Date.now() < deadline && child.exitCode === null; ) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready, output).toBe(true);
      const details = await fetch(`http://127.0.0.1:${port}/api/v1/enterprise/system_details`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'enterprise_api_key' }),
      });
      expect(details.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('--role reaches the server: a worker node without a shared queue is refused', async () => {
    const env = { ...process.env, MODELS_DIR, QUEUE: 'local', ENSURE_TINY_MODELS: 'false' };
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--role', 'worker'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('config: ROLE=worker needs a shared queue');
  });

  it('an unknown command is a usage error (exit code 2)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'fly'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect([code, stderr]).toEqual([2, 'controlnet-server: unknown command "fly" (--help for usage)\n']);
  });
});
