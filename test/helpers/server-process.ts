import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { MODELS_DIR } from './models.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * The real server as its own OS process (`src/main.ts` under tsx), so tests can SIGKILL it, start it
 * again on the same data, and run several of them side by side (`args`, e.g. ["--role", "worker"]:
 * a worker node answers only /healthz, /readyz and /metrics on its port).
 */
export async function startServerProcess(env: Record<string, string>, args: string[] = []) {
  const port = Number(env.PORT ?? (await freePort()));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts'), ...args], {
    env: {
      ...process.env,
      MODELS_DIR,
      ENSURE_TINY_MODELS: 'false',
      HOST: '127.0.0.1',
      THREADS: '1',
      LOG_LEVEL: 'warn',
      // Nothing opens at start: ready as soon as it listens; a test's first job opens what it uses (the start-up
      // preload has its own tests: memory-budget-e2e, serve-cli).
      PRELOAD: 'none',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    port,
    child,
    output: () => output,
    /** The output once it matches `pattern` (a log line can reach the pipe after the answer it goes with), or as it is after `ms`. */
    outputMatching: async (pattern: RegExp, ms = 5_000) => {
      const until = Date.now() + ms;
      while (!pattern.test(output) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      return output;
    },
    post: async (route: string, body: unknown) => {
      const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, any>, headers: res.headers };
    },
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      child.kill(signal);
      return exited;
    },
  };
}
