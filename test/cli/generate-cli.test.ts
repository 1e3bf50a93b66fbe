import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../helpers/models.js';
import { testPng } from '../helpers/images.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The real command (`src/cli/main.ts` under tsx) as its own process, stdout and stderr piped (not a TTY). */
function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, MODELS_DIR, THREADS: '1', EXECUTION_PROVIDER: 'cpu' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>);

async function pngSize(file: string) {
  const { info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return [info.width, info.height, info.channels];
}

describe('controlnet-server generate (a real process on the tiny models)', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cn-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs one JSON body from stdin (image path relative to the current folder) and writes its PNG and results line', async () => {
    const out = path.join(dir, 'single');
    const body = {
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: 'test/fixtures/rocket.png',
      prompt: 'a rocket',
      width: 96,
      height: 64,
      num_inference_steps: 2,
      seed: 7,
      track_id: 'batch-1',
    };
    const run = await cli(['generate', '-', '--out', out], JSON.stringify(body, null, 2));
    expect(run.stderr).toContain('[1/1] line 1: 1 image in');
    expect(run.code).toBe(0);

    const [result] = lines(await readFile(path.join(out, 'results.jsonl'), 'utf8'));
    expect(lines(run.stdout)).toEqual([result]);
    expect(result).toMatchObject({ line: 1, status: 'success', track_id: 'batch-1', output: [path.join(out, '0001-0.png')], warnings: [] });
    expect(result.meta).toMatchObject({
      model: 'tiny-sd15',
      W: 96,
      H: 64,
      steps: 2,
      seed: 7,
      init_image: 'test/fixtures/rocket.png',
      mode: 'txt2img',
      denoising_steps: 2,
    });
    expect(typeof result.id).toBe('number');
    expect(await pngSize(result.output[0])).toEqual([96, 64, 3]);
  });

  it('a JSONL file with a bad line in the middle: the others run, the bad one names the field, exit code 1, plain progress lines', async () => {
    const batchDir = path.join(dir, 'batch');
    const out = path.join(batchDir, 'out');
    await rm(batchDir, { recursive: true, force: true });
    await mkdir(batchDir, { recursive: true });
    await copyFile(path.join(ROOT, 'test/fixtures/coffee.png'), path.join(batchDir, 'coffee.png'));
    const inline = `data:image/png;base64,${(await testPng(80, 80)).toString('base64')}`;
    const input = [
      // A path relative to the JSONL file's folder, and a delivery field that does not apply offline.
      {
        controlnet_model: 'canny',
        auto_hint: 'yes',
        init_image: 'coffee.png',
        width: 72,
        height: 64,
        num_inference_steps: 2,
        webhook: 'http://127.0.0.1:9/hook',
      },
      { controlnet_model: 'canny', init_image: 'coffee.png', width: '97' },
      { controlnet_model: 'canny', control_image: inline, width: 64, height: 80, samples: 2, num_inference_steps: 2, scheduler: 'EulerDiscreteScheduler' },
    ];
    const file = path.join(batchDir, 'requests.jsonl');
    await writeFile(file, `${input.map((b) => JSON.stringify(b)).join('\n')}\n\n`);

    const run = await cli(['generate', file, '--out', out]);
    expect(run.code).toBe(1);
    const results = lines(await readFile(path.join(out, 'results.jsonl'), 'utf8'));
    expect(results.map((r) => [r.line, r.status])).toEqual([
      [1, 'success'],
      [2, 'error'],
      [3, 'success'],
    ]);
    expect(results[1].message).toMatch(/^width: must be an integer from 64 to 1024 and a multiple of 8, got "97"$/);
    expect(results[0].warnings).toEqual(['webhook: the command line sends no webhooks; not used']);
    expect(results[0].meta.init_image).toBe('coffee.png');
    expect(results[2].meta).toMatchObject({ control_image: 'base64', scheduler: 'EulerDiscreteScheduler', n_samples: 2 });

    expect((await readdir(out)).sort()).toEqual(['0001-0.png', '0003-0.png', '0003-1.png', 'results.jsonl']);
    expect(await pngSize(path.join(out, '0001-0.png'))).toEqual([72, 64, 3]);
    expect(await pngSize(results[2].output[1])).toEqual([64, 80, 3]);

    // Not a terminal: plain lines, no carriage returns or escape codes.
    expect(run.stderr).not.toMatch(/[\r\x1b]/);
    const progress = run.stderr.trim().split('\n');
    expect(progress[0]).toBe(`3 requests from ${file}; outputs in ${out}`);
    expect(progress).toContainEqual(expect.stringMatching(/^\[1\/3\] line 1: 1 image in [\d.]+ s \(0001-0\.png\), ETA /));
    expect(progress).toContainEqual(expect.stringMatching(/^\[2\/3\] line 2: error: width: must be an integer/));
    expect(progress).toContainEqual(expect.stringMatching(/^\[3\/3\] line 3: 2 images in [\d.]+ s \(0003-0\.png, 0003-1\.png\)$/));
    expect(progress.at(-1)).toMatch(new RegExp(`^2 succeeded, 1 failed in [\\d.]+ s; results in ${path.join(out, 'results.jsonl').replace(/[.]/g, '\\.')}$`));
  });

  it('--fail-fast: a missing image file fails its line (named), the rest is skipped', async () => {
    const out = path.join(dir, 'fail-fast');
    const input = `{"controlnet_model":"canny","init_image":"no/such.png"}\nnot json\n{"controlnet_model":"canny","init_image":"test/fixtures/rocket.png"}\n`;
    const run = await cli(['generate', '-', '--out', out, '--fail-fast', '--progress', 'none'], input);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    const results = lines(run.stdout);
    expect(results[0]).toEqual({
      line: 1,
      status: 'error',
      message: `init_image: no such file: "no/such.png" (relative paths are read from ${ROOT.replace(/\/$/, '')})`,
    });
    expect(results.slice(1).map((r) => [r.line, r.status])).toEqual([
      [2, 'skipped'],
      [3, 'skipped'],
    ]);
  });

  it('usage errors exit with 2; --help explains inputs and paths', async () => {
    const [none, missing, flag, help] = await Promise.all([
      cli(['generate']),
      cli(['generate', path.join(dir, 'missing.jsonl')]),
      cli(['generate', '-', '--threads', 'many']),
      cli(['generate', '--help']),
    ]);
    expect([none.code, missing.code, flag.code, help.code]).toEqual([2, 2, 2, 0]);
    expect(none.stderr).toContain('give the request file (JSON or JSONL), or - to read stdin (--help for usage)');
    expect(missing.stderr).toContain('missing.jsonl: no such file');
    expect(flag.stderr).toContain('--threads must be an integer from 0 to 1024, got "many"');
    expect(help.stdout).toContain("Relative paths are read\n  from the input file's folder (from the current folder when the input is stdin)");
  });
});
