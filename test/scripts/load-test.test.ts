import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('scripts/load-test.ts', () => {
  it('drives a real server with mixed requests and loses nothing', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/load-test.ts', '--requests', '30', '--concurrency', '6', '--max-queue', '2', '--json'],
      {
        encoding: 'utf8',
        timeout: 170_000,
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(r.lost).toBe(0);
    expect(r.otherError).toBe(0);
    expect(r.accepted + r.rejected429 + r.badRequest).toBe(30);
    expect(r.badRequest).toBe(6); // 2 of every 10 requests are invalid by design
    expect(r.completed).toBe(r.accepted);
    expect(r.rejected429).toBeGreaterThan(0); // 6 clients against a queue of 2
    expect(r.p99_s).toBeGreaterThanOrEqual(r.p50_s);
    expect(r.peak_rss_mib).toBeGreaterThan(50);
  }, 180_000);
});
