import { describe, expect, it } from 'vitest';
import { parseGenerateArgs } from '../../src/cli/generate-args.js';

describe('controlnet-server generate: flags', () => {
  it('defaults, and every flag', () => {
    expect(parseGenerateArgs(['in.jsonl'])).toEqual({ input: 'in.jsonl', out: 'out', failFast: false, progress: 'auto', verbose: false, help: false });
    expect(
      parseGenerateArgs(['-', '--out', 'o', '--models=m', '--threads', '2', '--provider', 'cuda,cpu', '--fail-fast', '--progress', 'plain', '--verbose']),
    ).toEqual({ input: '-', out: 'o', models: 'm', threads: 2, provider: 'cuda,cpu', failFast: true, progress: 'plain', verbose: true, help: false });
    expect(parseGenerateArgs(['-h']).help).toBe(true);
  });

  it('refuses what it cannot use, naming the flag', () => {
    expect(() => parseGenerateArgs([])).toThrow('give the request file (JSON or JSONL), or - to read stdin');
    expect(() => parseGenerateArgs(['a', 'b'])).toThrow('one input at a time, got 2: a b');
    expect(() => parseGenerateArgs(['a', '--threads=-1'])).toThrow('--threads must be an integer from 0 to 1024, got "-1"');
    expect(() => parseGenerateArgs(['a', '--progress', 'fancy'])).toThrow('--progress must be auto, bar, plain or none, got "fancy"');
    expect(() => parseGenerateArgs(['a', '--out', ''])).toThrow('--out needs a value');
    expect(() => parseGenerateArgs(['a', '--colour'])).toThrow(/--colour/);
  });
});
