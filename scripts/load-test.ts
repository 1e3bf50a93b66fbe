/**
 * Load test on loopback: starts the real server as a child process on the tiny models (or targets
 * --url), sends N mixed requests (valid and invalid, sync and queued, several schedulers, sizes,
 * multi-ControlNet, img2img, base64) at a given concurrency, follows every accepted job to its end,
 * and prints a table: accepted, rejected (429), bad requests, completed, failed, lost (must be 0),
 * p50/p99 latency to the final result, and the server's peak RSS.
 *
 *   npx tsx scripts/load-test.ts [--requests 200] [--concurrency 16] [--max-queue 32] [--timeout-s 600] [--json]
 *
 * Bounded in count and time; only 127.0.0.1 is contacted.
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

interface Options {
  requests: number;
  concurrency: number;
  maxQueue: number;
  timeoutS: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { requests: 200, concurrency: 16, maxQueue: 32, timeoutS: 600, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    const num = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k} needs a positive integer, got "${v}"`);
      i++;
      return n;
    };
    if (k === '--requests') o.requests = num();
    else if (k === '--concurrency') o.concurrency = num();
    else if (k === '--max-queue') o.maxQueue = num();
    else if (k === '--timeout-s') o.timeoutS = num();
    else if (k === '--json') o.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  return o;
}

const KEY = 'load-test-key';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Peak resident set size of a process (Linux VmHWM), in MiB. */
function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function startServer(maxQueue: number) {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cn-load-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      API_KEYS: KEY,
      MAX_QUEUE: String(maxQueue),
      SYNC_TIMEOUT_S: '5',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (
    !(await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          rmSync(dataDir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** The mix: mostly valid generations of different shapes, some invalid bodies. */
function requestBody(i: number, photo: string): Record<string, unknown> {
  const schedulers = ['UniPCMultistepScheduler', 'EulerDiscreteScheduler', 'DPMSolverMultistepScheduler', 'EulerAncestralDiscreteScheduler', 'DDIMScheduler'];
  const base = {
    key: KEY,
    controlnet_model: 'canny',
    auto_hint: 'yes',
    init_image: photo,
    prompt: `load test ${i}`,
    width: [64, 128, 96][i % 3],
    height: [64, 96, 128][i % 3],
    num_inference_steps: 4 + (i % 5),
    seed: i,
    scheduler: schedulers[i % schedulers.length],
    base64: 'yes',
  };
  switch (i % 10) {
    case 3:
      return { ...base, controlnet_model: 'canny,mlsd', controlnet_conditioning_scale: '0.7,0.5' };
    case 5:
      return { ...base, strength: 0.6 };
    case 6:
      return { ...base, instant_response: 'yes' };
    case 7:
      return { ...base, width: 1020 }; // invalid: not a multiple of 8
    case 8:
      return { ...base, samples: 2, guess_mode: 'yes' };
    case 9:
      return { ...base, scheduler: 'NoSuchScheduler' }; // invalid
    default:
      return base;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#406080' } })
    .composite([{ input: Buffer.from('<svg width="96" height="96"><rect x="20" y="25" width="50" height="40" fill="#f0e0c0"/></svg>'), top: 0, left: 0 }])
    .png()
    .toBuffer();
  const photo = png.toString('base64');
  const server = await startServer(o.maxQueue);
  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${server.base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(o.timeoutS * 1000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const counts = { accepted: 0, rejected429: 0, badRequest: 0, completed: 0, failed: 0, lost: 0, otherError: 0 };
  const latencies: number[] = [];
  const deadline = Date.now() + o.timeoutS * 1000;
  let next = 0;
  const started = performance.now();

  const one = async (i: number) => {
    const t0 = performance.now();
    const res = await post('/api/v1/enterprise/controlnet', requestBody(i, photo));
    if (res.status === 429) return void counts.rejected429++;
    if (res.status === 400) return void counts.badRequest++;
    if (res.status !== 200) return void counts.otherError++;
    counts.accepted++;
    let body = res.json;
    while (body.status === 'processing') {
      if (Date.now() > deadline) return void counts.lost++;
      await new Promise((r) => setTimeout(r, 200));
      body = (await post(`/api/v1/enterprise/fetch/${body.id}`, { key: KEY })).json;
    }
    if (body.status === 'success' && Array.isArray(body.output) && body.output.length > 0) {
      counts.completed++;
      latencies.push(performance.now() - t0);
    } else if (body.status === 'failed' || body.status === 'error') counts.failed++;
    else counts.lost++;
  };
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.requests) await one(next++).catch(() => counts.otherError++);
    }),
  );
  const wall = (performance.now() - started) / 1000;
  const rss = peakRssMiB(server.pid);
  await server.stop();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] / 1000 : NaN);
  const report = { ...o, ...counts, p50_s: pct(50), p99_s: pct(99), wall_s: wall, peak_rss_mib: rss };
  if (o.json) {
    console.log(JSON.stringify(report));
  } else {
    const rows: [string, string][] = [
      ['requests / concurrency', `${o.requests} / ${o.concurrency} (MAX_QUEUE ${o.maxQueue})`],
      ['accepted', String(counts.accepted)],
      ['rejected with 429', String(counts.rejected429)],
      ['rejected with 400 (invalid by design)', String(counts.badRequest)],
      ['completed', String(counts.completed)],
      ['failed', String(counts.failed)],
      ['lost', String(counts.lost + counts.otherError)],
      ['latency p50 / p99 (s)', `${pct(50).toFixed(2)} / ${pct(99).toFixed(2)}`],
      ['wall time (s)', wall.toFixed(1)],
      ['server peak RSS (MiB)', rss === null ? 'n/a' : rss.toFixed(0)],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`| ${'metric'.padEnd(w)} | value |\n|${'-'.repeat(w + 2)}|-------|`);
    for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
  }
  if (counts.lost + counts.otherError > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
