import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseProblem } from '../../src/jobs/db-integrity.js';
import { testPng } from '../helpers/images.js';
import { MODELS_DIR } from '../helpers/models.js';
import { startServerProcess } from '../helpers/server-process.js';

const env = { API_KEYS: 'client', ADMIN_API_KEYS: 'admin' };
const dirs: string[] = [];
const tempDir = (name: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cn-damage-${name}-`));
  dirs.push(dir);
  return dir;
};
/** A data folder where one job ran and the server stopped cleanly: jobs.sqlite and one output PNG. */
let seed: string;
let seedJob: { id: number; output: string[] };

beforeAll(async () => {
  seed = tempDir('seed');
  const server = await startServerProcess({ ...env, DATA_DIR: seed });
  try {
    const image = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
    const res = await server.post('/api/v1/enterprise/controlnet', {
      key: 'client',
      controlnet_model: 'canny',
      init_image: image,
      width: 64,
      height: 64,
      num_inference_steps: 2,
      seed: 1,
    });
    expect(res.json.status, server.output()).toBe('success');
    seedJob = res.json as typeof seedJob;
  } finally {
    await server.kill('SIGTERM');
  }
  expect(existsSync(path.join(seed, 'jobs.sqlite-wal'))).toBe(false);
}, 120_000);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The four kinds of damage, each applied to a copy of the seed data folder. */
const DAMAGE: Record<string, (file: string) => void> = {
  'garbage bytes in the middle': (file) => {
    const pageSize = 4096;
    const pages = statSync(file).size / pageSize;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, Math.max(1, Math.floor(pages / 2)) * pageSize);
    closeSync(fd);
  },
  'a 0-byte file beside generated images': (file) => truncateSync(file, 0),
  'a truncated file': (file) => truncateSync(file, Math.floor(statSync(file).size / 2) + 100),
  "another application's SQLite database": (file) => {
    rmSync(file);
    const db = new Database(file);
    db.exec(
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO users (name) VALUES ('ann');",
    );
    db.close();
  },
};

function damagedCopy(kind: string): string {
  const dir = tempDir('case');
  cpSync(seed, dir, { recursive: true });
  DAMAGE[kind](path.join(dir, 'jobs.sqlite'));
  return dir;
}

/** Runs the server until it exits on its own; its exit code and everything it printed. */
function runUntilExit(extra: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
    env: { ...process.env, MODELS_DIR, ENSURE_TINY_MODELS: 'false', HOST: '127.0.0.1', PORT: '0', THREADS: '1', LOG_LEVEL: 'warn', ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('a damaged or foreign job database is never used silently', () => {
  for (const kind of Object.keys(DAMAGE)) {
    it(`${kind}: by default the server exits with one line naming the file and both fixes; the file is left as it was`, async () => {
      const dir = damagedCopy(kind);
      const before = statSync(path.join(dir, 'jobs.sqlite')).size;
      const { code, output } = await runUntilExit({ DATA_DIR: dir });
      expect(code, output).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines, output).toHaveLength(1);
      expect(lines[0]).toMatch(/^job database .*jobs\.sqlite cannot be used: .+ON_DB_CORRUPTION=quarantine/);
      expect(lines[0]).toMatch(/restore .*jobs\.sqlite from a backup/);
      expect(statSync(path.join(dir, 'jobs.sqlite')).size).toBe(before);
    }, 90_000);

    it(`${kind}: ON_DB_CORRUPTION=quarantine moves it aside (log, system_details), starts fresh, and no longer serves the old outputs`, async () => {
      const dir = damagedCopy(kind);
      const server = await startServerProcess({ ...env, DATA_DIR: dir, ON_DB_CORRUPTION: 'quarantine' });
      try {
        const moved = readdirSync(dir).filter((n) => n.startsWith('jobs.sqlite.corrupt-'));
        expect(moved.filter((n) => /^jobs\.sqlite\.corrupt-\d{8}T\d{6}Z$/.test(n))).toHaveLength(1);
        expect(server.output()).toContain(`moved aside to ${moved[0]}`);
        const details = await server.post('/api/v1/enterprise/system_details', { key: 'client' });
        expect(details.json.storage).toMatchObject({ backend: 'sqlite', database: 'jobs.sqlite', quarantined: { file: moved[0], reason: expect.any(String) } });
        // The old job and its PNG (still on disk) are gone from the API, not served as if nothing happened.
        expect((await server.post(`/api/v1/enterprise/fetch/${seedJob.id}`, { key: 'admin' })).status).toBe(404);
        const file = new URL(seedJob.output[0]).pathname;
        expect(existsSync(path.join(dir, 'generations', path.basename(file)))).toBe(true);
        expect((await fetch(`${server.base}${file}`)).status).toBe(404);
        expect((await server.post('/api/v1/enterprise/upload_image', { key: 'client', base64_image: (await testPng(8, 8)).toString('base64') })).status).toBe(
          200,
        );
      } finally {
        await server.kill('SIGKILL');
      }
    }, 90_000);
  }

  it('a 0-byte file with no generated images is a database never written to, and is used', () => {
    const dir = tempDir('fresh');
    writeFileSync(path.join(dir, 'jobs.sqlite'), '');
    expect(databaseProblem(path.join(dir, 'jobs.sqlite'), path.join(dir, 'generations'))).toBeNull();
    expect(databaseProblem(path.join(seed, 'jobs.sqlite'), path.join(seed, 'generations'))).toBeNull();
  });
});
