import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { envFromArgs } from '../src/cli-args.js';

describe('command-line flags', () => {
  it('--role sets ROLE (two spellings), and wins over the environment', () => {
    expect(envFromArgs(['--role', 'worker'])).toEqual({ ROLE: 'worker' });
    expect(envFromArgs(['--role=api'])).toEqual({ ROLE: 'api' });
    expect(envFromArgs([])).toEqual({});
    expect(loadConfig({ ROLE: 'api', QUEUE: 'redis://x', ...envFromArgs(['--role', 'worker']) } as NodeJS.ProcessEnv).role).toBe('worker');
  });

  it('refuses unknown flags and a missing value with the usage', () => {
    expect(() => envFromArgs(['--port', '1'])).toThrow('unknown argument "--port"; usage: main [--role api|worker|both]');
    expect(() => envFromArgs(['--role'])).toThrow('--role needs a value');
    expect(() => envFromArgs(['--role', '--x'])).toThrow('--role needs a value');
  });
});
