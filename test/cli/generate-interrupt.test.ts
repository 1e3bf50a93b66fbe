import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../helpers/models.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('controlnet-server generate, interrupted', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cn-cli-int-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('Ctrl-C during a line stops at once, by the signal, with the finished lines in results.jsonl', async () => {
    await copyFile(path.join(ROOT, 'test/fixtures/rocket.png'), path.join(dir, 'rocket.png'));
    const quick = { controlnet_model: 'canny', auto_hint: 'yes', init_image: 'rocket.png', width: 64, height: 64, num_inference_steps: 2 };
    const slow = { ...quick, width: 512, height: 512, num_inference_steps: 50 };
    const input = path.join(dir, 'requests.jsonl');
    await writeFile(input, `${JSON.stringify(quick)}\n${JSON.stringify(slow)}\n`);
    const out = path.join(dir, 'out');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'generate', input, '--out', out], {
      cwd: ROOT,
      env: { ...process.env, MODELS_DIR, THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Interrupt while line 2 runs (line 1 finished; line 2 takes minutes on the tiny models).
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/\[1\/2\] line 1: 1 image/.test(stderr)) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(stderr).toContain('interrupted: the lines finished so far are in results.jsonl');
    expect(stderr).not.toMatch(/Napi|Aborted|terminate called/);
    const results = (await readFile(path.join(out, 'results.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results.map((r) => [r.line, r.status])).toEqual([[1, 'success']]);
  });
});
