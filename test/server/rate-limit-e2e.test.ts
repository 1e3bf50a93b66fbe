import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { startServerProcess } from '../helpers/server-process.js';

it('RATE_LIMIT_PER_MIN counts per key: the 6th request of k1 gets a 429 in the contract shape with Retry-After; k2 and /healthz are not affected', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-rate-'));
  const server = await startServerProcess({ DATA_DIR: dir, API_KEYS: 'k1,k2', RATE_LIMIT_PER_MIN: '5' });
  try {
    const details = (key: string) => server.post('/api/v1/enterprise/system_details', { key });
    for (let k = 0; k < 5; k++) expect((await details('k1')).status).toBe(200);
    const over = await details('k1');
    expect(over.status).toBe(429);
    expect(over.json).toEqual({ status: 'error', message: expect.stringMatching(/^key: more than 5 requests a minute with this key \(RATE_LIMIT_PER_MIN\)/) });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.stringify(over.json)).not.toContain('k1');
    // Another key has its own budget; health checks are never limited; a GET with the same key spends the same budget.
    expect((await details('k2')).status).toBe(200);
    for (let k = 0; k < 10; k++) expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.base}/api/v1/enterprise/schedulers_list`, { headers: { 'x-api-key': 'k1' } })).status).toBe(429);
    // Requests without a valid key spend their address's budget, not a key's.
    const wrong = [];
    for (let k = 0; k < 6; k++) wrong.push((await details(`guess-${k}`)).status);
    expect(wrong).toEqual([401, 401, 401, 401, 401, 429]);
  } finally {
    await server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
