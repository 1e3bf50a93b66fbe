import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

describe('config: admin keys, database damage, rate limit', () => {
  it('admin keys: ADMIN_API_KEYS when set; the default key in dev mode (no API_KEYS); none when only API_KEYS is set', () => {
    expect([...load({ API_KEYS: 'a,b', ADMIN_API_KEYS: ' root , ops ' }).adminApiKeys]).toEqual(['root', 'ops']);
    expect([...load({}).adminApiKeys]).toEqual(['enterprise_api_key']);
    expect([...load({ API_KEYS: 'a' }).adminApiKeys]).toEqual([]);
    expect([...load({ ADMIN_API_KEYS: 'root' }).apiKeys]).toEqual(['enterprise_api_key']);
  });

  it('ON_DB_CORRUPTION is fail (default) or quarantine; RATE_LIMIT_PER_MIN is off by default', () => {
    expect(load({}).onDbCorruption).toBe('fail');
    expect(load({ ON_DB_CORRUPTION: 'Quarantine' }).onDbCorruption).toBe('quarantine');
    expect(() => load({ ON_DB_CORRUPTION: 'ignore' })).toThrow(/ON_DB_CORRUPTION must be fail or quarantine/);
    expect(load({}).rateLimitPerMin).toBe(0);
    expect(load({ RATE_LIMIT_PER_MIN: '120' }).rateLimitPerMin).toBe(120);
  });
});
