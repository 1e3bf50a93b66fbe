import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { RedisClient } from '../../src/jobs/redis-client.js';
import { freePort } from './server-process.js';
import { describeWithTool } from './describe-with-tool.js';

/** The redis-server binary on PATH, or null. */
export function findRedisServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, 'redis-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** `describe` for tests that need a real redis-server: fails in CI without it, skips elsewhere (describe-with-tool.ts). */
export function describeWithRedis(name: string, body: () => void): void {
  describeWithTool(name, body, { name: 'redis-server', found: findRedisServer() !== null, install: 'apt-get install redis-server' });
}

/** A throwaway redis-server on 127.0.0.1 and a free port (or `port`): no persistence, gone when stopped. */
export async function startRedisServer(port?: number) {
  const binary = findRedisServer();
  if (!binary) throw new Error('redis-server is missing');
  port ??= await freePort();
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const clients: RedisClient[] = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new RedisClient(url);
    const ok = await probe.connect().then(
      () => probe.send('PING'),
      () => null,
    );
    probe.close();
    if (ok === 'PONG') break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    /** A connected client for the test's own checks (closed by stop()). */
    async client(): Promise<RedisClient> {
      const client = new RedisClient(url);
      await client.connect();
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.close();
      child.kill('SIGKILL');
      await exited;
    },
  };
}
