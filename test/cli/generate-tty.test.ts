import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../helpers/models.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = '/usr/bin/script';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** util-linux `script` gives the command a real pseudo-terminal, as an interactive shell would. */
describe.skipIf(!existsSync(SCRIPT))('controlnet-server generate on a terminal', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cn-cli-tty-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('redraws one progress line with \\r (requests done, steps of the current one, ETA) and keeps results off the terminal', async () => {
    const input = path.join(dir, 'requests.jsonl');
    const out = path.join(dir, 'out');
    const body = {
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: path.join(ROOT, 'test/fixtures/rocket.png'),
      width: 64,
      height: 64,
      num_inference_steps: 4,
    };
    await writeFile(input, `${JSON.stringify(body)}\n${JSON.stringify({ ...body, num_inference_steps: 3 })}\n`);
    const command = [process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'generate', input, '--out', out].map(quote).join(' ');
    const terminal = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(SCRIPT, ['-qefc', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, MODELS_DIR, THREADS: '1' } }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, text: stdout }),
      );
    });
    expect(terminal.code).toBe(0);
    const text = terminal.text;
    expect(text).toContain('\r\x1b[K[....................] 0/2 · line 1 starting · ETA --');
    expect(text).toMatch(/\r\x1b\[K\[#+\.*\] 0\/2 · line 1 step 4\/4 · ETA /);
    expect(text).toMatch(/\r\x1b\[K\[#+\.*\] 1\/2 · line 2 step 3\/3 · ETA /);
    expect(text).toMatch(/\r\x1b\[K\[1\/2\] line 1: 1 image in [\d.]+ s \(0001-0\.png\), ETA \d+:\d\d\r?\n/);
    expect(text).toMatch(/\r\x1b\[K2 succeeded, 0 failed in [\d.]+ s; results in .*results\.jsonl\r?\n$/);
    // No plain step lines and no JSON on the terminal; the results are in the file.
    expect(text).not.toContain('{"line"');
    expect((await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
  });
});
