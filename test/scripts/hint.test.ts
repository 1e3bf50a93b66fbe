import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHint } from '../../src/preprocessors/registry.js';
import { readRgb } from '../preprocessors/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** Runs scripts/hint.ts in a child process; resolves with its exit code and output either way. */
async function hint(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/hint.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('scripts/hint.ts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hint-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the canny hint of a fixture as a PNG, equal to makeHint', async () => {
    const out = join(dir, 'canny.png');
    const result = await hint(
      '--type',
      'canny',
      '--in',
      'test/fixtures/rocket.png',
      '--out',
      out,
      '--low',
      '80',
      '--high',
      '160',
      '--resolution',
      '256',
      '--width',
      '320',
      '--height',
      '192',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([320, 192, 3]);
    const expected = await makeHint('canny', await readRgb('rocket.png'), {
      width: 320,
      height: 192,
      detectResolution: 256,
      lowThreshold: 80,
      highThreshold: 160,
    });
    expect(new Uint8Array(data)).toEqual(expected.image.data);
  });

  it('passes seed and mask through', async () => {
    const shuffled = join(dir, 'shuffle.png');
    const mask = join(dir, 'mask.png');
    await sharp({ create: { width: 256, height: 171, channels: 3, background: '#ffffff' } })
      .png()
      .toFile(mask);
    const [a, b] = await Promise.all([
      hint('--type', 'shuffle', '--in', 'test/fixtures/coffee.png', '--out', shuffled, '--seed', '9', '--resolution', '128'),
      hint('--type', 'inpaint', '--in', 'test/fixtures/coffee.png', '--out', join(dir, 'inpaint.png'), '--mask', mask),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(b.stdout).toContain(`${256 * 171} pixels at -1`);
    const expected = await makeHint('shuffle', await readRgb('coffee.png'), { width: 256, height: 171, seed: 9, detectResolution: 128 });
    const { data } = await sharp(shuffled).raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(expected.image.data);
  });

  it('fails with one line and a non-zero exit code on bad input', async () => {
    const out = join(dir, 'never.png');
    const cases = await Promise.all([
      hint('--type', 'canny', '--in', 'test/fixtures/missing.png', '--out', out),
      hint('--type', 'sketch', '--in', 'test/fixtures/coffee.png', '--out', out),
      hint('--type', 'canny', '--in', 'test/fixtures/coffee.png', '--out', out, '--low', 'ten'),
      hint('--type', 'canny', '--in', 'test/fixtures/coffee.png', '--out', out, '--high', '9000'),
      hint('--type', 'depth', '--in', 'test/fixtures/coffee.png', '--out', out),
      hint('--type', 'inpaint', '--in', 'test/fixtures/coffee.png', '--out', out),
      hint('--in', 'test/fixtures/coffee.png', '--out', out),
      hint('--type', 'canny', '--in', 'test/fixtures/coffee.png', '--out', out, '--colour', 'red'),
    ]);
    const expectations: [number, RegExp][] = [
      [2, /not found: test\/fixtures\/missing\.png/],
      [1, /unknown controlnet_type "sketch"; valid types: canny, depth/],
      [2, /--low needs a number, got "ten"/],
      [1, /highThreshold must be between 0 and 2040/],
      [1, /models\/annotators\/midas\//],
      [1, /needs a mask/],
      [2, /--type is required/],
      [2, /Unknown option '--colour'/],
    ];
    cases.forEach((result, i) => {
      const [code, message] = expectations[i];
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(
        result.stderr
          .trim()
          .split('\n')
          .filter((line) => !line.startsWith('npm warn')),
      ).toHaveLength(1);
    });
    await expect(sharp(out).metadata()).rejects.toThrow();
  });
});
