import { describe, expect, it } from 'vitest';
import { formatDuration, Progress } from '../../src/cli/progress.js';

/** A stream that records what was written, and a clock the test moves. */
function setup(isTTY: boolean, columns = 200) {
  const writes: string[] = [];
  const clock = { t: 0 };
  const stream = { isTTY, columns, write: (s: string) => writes.push(s) };
  const progress = new Progress(stream, Progress.modeFor(stream, 'auto'), () => clock.t);
  return { writes, clock, progress };
}

describe('command-line progress', () => {
  it('picks a bar on a terminal and plain lines elsewhere, unless told', () => {
    expect(Progress.modeFor({ isTTY: true, write: () => 0 }, 'auto')).toBe('bar');
    expect(Progress.modeFor({ write: () => 0 }, 'auto')).toBe('plain');
    expect(Progress.modeFor({ isTTY: true, write: () => 0 }, 'plain')).toBe('plain');
  });

  it('formats durations as m:ss or h:mm:ss, and "--" when unknown', () => {
    expect([formatDuration(0), formatDuration(42.4), formatDuration(61), formatDuration(3 * 3600 + 5 * 60 + 9), formatDuration(NaN)]).toEqual([
      '0:00',
      '0:42',
      '1:01',
      '3:05:09',
      '--',
    ]);
  });

  it('on a terminal redraws one line with \\r: requests done, step of the current one, ETA from the measured step time', () => {
    const { writes, clock, progress } = setup(true);
    // Two requests of 10 steps; the second has twice the work per step.
    progress.start([
      { steps: 10, unitsPerStep: 1 },
      { steps: 10, unitsPerStep: 2 },
    ]);
    progress.begin(0, 1);
    expect(writes.at(-1)).toBe('\r\x1b[K[....................] 0/2 · line 1 starting · ETA --');
    clock.t = 5000; // loading the model: not part of the measured speed
    progress.step(1, 10);
    clock.t = 5500;
    progress.step(2, 10);
    // 0.5 s per unit; left: 8 units of this request + 20 of the next = 14 s.
    expect(progress.eta()).toBeCloseTo(14, 6);
    clock.t = 6000; // 7 + 20 units left at 0.5 s: 13.5 s
    progress.step(3, 10);
    expect(writes.at(-1)).toBe('\r\x1b[K[###.................] 0/2 · line 1 step 3/10 · ETA 0:14');
    progress.finish(true, 'line 1: 1 image in 9 s (0001-0.png)');
    // The message goes above the bar, then the bar is redrawn.
    expect(writes.slice(-2)).toEqual(['\r\x1b[K[1/2] line 1: 1 image in 9 s (0001-0.png), ETA 0:10\n', '\r\x1b[K[##########..........] 1/2 · ETA 0:10']);
    progress.begin(1, 2);
    progress.finish(false, 'line 2: error: width: bad');
    expect(writes.at(-1)).toBe('\r\x1b[K[2/2] line 2: error: width: bad\n');
    progress.end();
    progress.print('1 succeeded, 1 failed');
    expect(writes.at(-1)).toBe('\r\x1b[K1 succeeded, 1 failed\n');
  });

  it('cuts the bar to the terminal width', () => {
    const { writes, progress } = setup(true, 30);
    progress.start([{ steps: 1, unitsPerStep: 1 }]);
    progress.begin(0, 12345);
    expect(writes.at(-1)).toBe(`\r\x1b[K${'[....................] 0/1 · line 12345 starting'.slice(0, 29)}`);
  });

  it('elsewhere writes plain lines: one per finished request, a step line at most every 10 s', () => {
    const { writes, clock, progress } = setup(false);
    progress.start([
      { steps: 30, unitsPerStep: 1 },
      { steps: 0, unitsPerStep: 0 },
    ]);
    progress.begin(0, 1);
    for (let s = 1; s <= 30; s++) {
      clock.t = s * 1000;
      progress.step(s, 30);
    }
    progress.finish(true, 'line 1: done');
    progress.begin(1, 2);
    progress.finish(false, 'line 2: error: x');
    expect(writes).toEqual([
      'line 1: step 10/30, ETA 0:20\n',
      'line 1: step 20/30, ETA 0:10\n',
      'line 1: step 30/30, ETA 0:00\n',
      '[1/2] line 1: done, ETA 0:00\n',
      '[2/2] line 2: error: x\n',
    ]);
  });

  it('writes nothing with --progress none', () => {
    const writes: string[] = [];
    const progress = new Progress({ write: (s: string) => writes.push(s) }, 'none');
    progress.start([{ steps: 1, unitsPerStep: 1 }]);
    progress.begin(0, 1);
    progress.step(1, 1);
    progress.finish(true, 'x');
    expect(writes).toEqual([]);
  });
});
