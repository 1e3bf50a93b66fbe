import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

describe('config: the public URL, outbound allow-list and client timeouts', () => {
  it('output URLs default to http://HOST:PORT on loopback; any other bind needs PUBLIC_URL', () => {
    expect(load({}).publicUrl).toBe('http://127.0.0.1:7860');
    expect(load({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(load({ HOST: '0.0.0.0', PUBLIC_URL: 'https://cn.example.com/' }).publicUrl).toBe('https://cn.example.com');
    expect(() => load({ HOST: '0.0.0.0' })).toThrow(/config: HOST=0\.0\.0\.0 listens beyond this machine: set PUBLIC_URL/);
    expect(() => load({ HOST: '10.0.0.5', PUBLIC_URL: 'ftp://x' })).toThrow(/PUBLIC_URL must be an http\(s\) URL/);
    // A worker node makes no output URLs.
    expect(load({ HOST: '0.0.0.0', ROLE: 'worker', QUEUE: 'redis://r:6379' }).role).toBe('worker');
  });

  it('reads ALLOWED_FETCH_HOSTS / ALLOWED_FETCH_PORTS and the timeouts', () => {
    const config = load({ ALLOWED_FETCH_HOSTS: '127.0.0.1,images.lan,10.0.0.0/8', ALLOWED_FETCH_PORTS: '8080', SYNC_TIMEOUT_S: '10' });
    expect(config.outbound.allowedHosts).toEqual(['images.lan']);
    expect(config.outbound.allowedCidrs.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(['127.0.0.1/32', '10.0.0.0/8']);
    expect(config.outbound.allowedPorts).toEqual([8080]);
    expect(config.http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 70_000 });
    expect(load({}).outbound).toEqual({ allowedHosts: [], allowedCidrs: [], allowedPorts: [] });
    expect(() => load({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HEADERS_TIMEOUT_MS must not be longer than REQUEST_TIMEOUT_MS/);
  });

  it('the server refuses to start on 0.0.0.0 without PUBLIC_URL, and says why', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
      env: { ...process.env, HOST: '0.0.0.0', PUBLIC_URL: '', ENSURE_TINY_MODELS: 'false' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/HOST=0\.0\.0\.0 listens beyond this machine: set PUBLIC_URL/);
  });
});
