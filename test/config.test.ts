import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

describe('config: queue, role and scale-out settings', () => {
  it('defaults to one box: the local queue, both roles', () => {
    const config = load({});
    expect([config.queue, config.role, config.redisPrefix]).toEqual(['local', 'both', 'cn']);
    expect(config.jobs).toMatchObject({ lockMs: 30_000, stalledCheckMs: 15_000 });
    expect(config.nodeName).toMatch(/-\d+$/);
  });

  it('ROLE=api or worker needs a shared queue, and says so', () => {
    for (const role of ['api', 'worker']) {
      expect(() => load({ ROLE: role })).toThrow(`config: ROLE=${role} needs a shared queue: set QUEUE=redis://host:6379`);
      expect(load({ ROLE: role, QUEUE: 'redis://10.0.0.5:6379' }).role).toBe(role);
    }
    expect(() => load({ ROLE: 'gpu' })).toThrow(/ROLE must be api, worker or both/);
    expect(() => load({ QUEUE: 'amqp://x' })).toThrow(/QUEUE must be "local" or a redis:\/\/ URL/);
    expect(() => load({ QUEUE: 'redis://x/abc' })).toThrow(/the database after the last "\/" must be a number/);
    expect(load({ QUEUE: 'redis://:p%40ss@x:6379/' }).queue).toBe('redis://:p%40ss@x:6379/');
  });

  it('reads the Redis timings, node name and key prefix', () => {
    const config = load({ QUEUE: 'rediss://cache:6380/1', JOB_LOCK_MS: '1500', STALLED_CHECK_MS: '500', NODE_NAME: 'gpu-7', REDIS_PREFIX: 'cn-prod' });
    expect(config).toMatchObject({ queue: 'rediss://cache:6380/1', nodeName: 'gpu-7', redisPrefix: 'cn-prod', jobs: { lockMs: 1500, stalledCheckMs: 500 } });
    expect(() => load({ JOB_LOCK_MS: '10' })).toThrow(/JOB_LOCK_MS must be an integer in \[500,/);
    expect(() => load({ REDIS_PREFIX: 'a b' })).toThrow(/REDIS_PREFIX must be/);
  });
});

describe('config: fused step graph', () => {
  it('FUSED_STEP is auto by default, on or off; FUSED_STEP_CACHE keeps 1 graph by default', () => {
    expect([load({}).fusedStep, load({}).fusedStepCache]).toEqual(['auto', 1]);
    expect(load({ FUSED_STEP: 'OFF', FUSED_STEP_CACHE: '3' })).toMatchObject({ fusedStep: 'off', fusedStepCache: 3 });
    expect(() => load({ FUSED_STEP: 'yes' })).toThrow(/FUSED_STEP must be auto, on or off/);
  });
});
