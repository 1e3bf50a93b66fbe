/** Where progress goes: a terminal (one line redrawn with \r) or anything else (plain lines). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressMode = 'bar' | 'plain' | 'none';

/** A request's estimated work: denoising steps, and the work of one step (eta.ts's units). */
export interface RequestWork {
  steps: number;
  unitsPerStep: number;
}

interface Current {
  index: number;
  line: number;
  /** The last step event (0 before the first), of `steps` (0 until known). */
  step: number;
  steps: number;
  lastStepAt: number;
}

const BAR_WIDTH = 20;
/** A terminal is redrawn at most this often; plain output gets a step line at most this often. */
const REDRAW_MS = 100;
const PLAIN_STEP_EVERY_MS = 10_000;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Progress of a batch: requests done of the total, the step of the current one, and an ETA. On a
 * terminal one line is redrawn in place (messages print above it); elsewhere each finished request is
 * a plain line, with a step line now and then for long requests. The ETA comes from the seconds per
 * unit of work (eta.ts's units: steps × pixels × samples × ControlNets) measured between step
 * events so far (so model loading does not count), over the work left.
 */
export class Progress {
  private work: RequestWork[] = [];
  private done = 0;
  private failed = 0;
  private current: Current | null = null;
  /** Seconds between step events, and the work they covered: the box's speed, without model loading. */
  private measuredSeconds = 0;
  private measuredUnits = 0;
  private lastDraw = 0;
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    readonly mode: ProgressMode,
    private readonly now: () => number = () => performance.now(),
  ) {}

  static modeFor(stream: ProgressStream, requested: 'auto' | ProgressMode): ProgressMode {
    if (requested !== 'auto') return requested;
    return stream.isTTY ? 'bar' : 'plain';
  }

  /** The estimated work of each request, in input order. */
  start(work: RequestWork[]) {
    this.work = work;
    this.lastPlain = this.now();
  }

  begin(index: number, line: number) {
    this.current = { index, line, step: 0, steps: 0, lastStepAt: 0 };
    this.draw(true);
  }

  step(step: number, steps: number) {
    const c = this.current;
    if (!c) return;
    const t = this.now();
    if (c.step > 0 && step > c.step) {
      this.measuredSeconds += (t - c.lastStepAt) / 1000;
      this.measuredUnits += (step - c.step) * (this.work[c.index]?.unitsPerStep ?? 0);
    }
    c.step = step;
    c.steps = steps;
    c.lastStepAt = t;
    if (this.mode === 'plain' && t - this.lastPlain >= PLAIN_STEP_EVERY_MS) {
      this.print(`line ${c.line}: step ${step}/${steps}, ETA ${formatDuration(this.eta())}`);
    }
    this.draw(step === steps);
  }

  /** A request is over (run, refused or failed); `message` is its line of output. */
  finish(ok: boolean, message: string) {
    this.done += 1;
    if (!ok) this.failed += 1;
    this.current = null;
    const eta = this.done < this.work.length ? `, ETA ${formatDuration(this.eta())}` : '';
    this.print(`[${this.done}/${this.work.length}] ${message}${eta}`);
  }

  /** A message (a warning from the inference thread, the summary): above the bar on a terminal. */
  print(text: string) {
    if (this.mode === 'none') return;
    this.lastPlain = this.now();
    if (this.mode === 'bar') {
      this.stream.write(`\r\x1b[K${text}\n`);
      this.drawn = false;
      if (this.done < this.work.length) this.draw(true);
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** Clears the bar (before the final summary). */
  end() {
    if (this.mode === 'bar' && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.current = null;
  }

  /**
   * Seconds left: seconds per unit measured between step events, times the units still to run (the
   * current request's remaining steps, then every later request's estimate); NaN before a measurement.
   */
  eta(): number {
    if (this.measuredUnits <= 0) return NaN;
    const c = this.current;
    let left = 0;
    if (c) {
      const w = this.work[c.index];
      if (w) left += w.unitsPerStep * ((c.steps > 0 ? c.steps : w.steps) - c.step);
    }
    for (let k = c ? c.index + 1 : this.done; k < this.work.length; k++) left += this.work[k].unitsPerStep * this.work[k].steps;
    return (this.measuredSeconds / this.measuredUnits) * left;
  }

  /** The bar's text: `[#####.....] 1/3 · line 2 step 12/30 · 1 failed · ETA 0:42`. */
  render(): string {
    const c = this.current;
    const fraction = (this.done + (c && c.steps > 0 ? c.step / c.steps : 0)) / Math.max(1, this.work.length);
    const filled = Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH));
    const parts = [`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.done}/${this.work.length}`];
    if (c) parts.push(c.steps > 0 ? `line ${c.line} step ${c.step}/${c.steps}` : `line ${c.line} starting`);
    if (this.failed > 0) parts.push(`${this.failed} failed`);
    parts.push(`ETA ${formatDuration(this.eta())}`);
    const text = parts.join(' · ');
    const width = (this.stream.columns || 80) - 1;
    return text.length > width ? text.slice(0, Math.max(0, width)) : text;
  }

  private draw(force: boolean) {
    if (this.mode !== 'bar') return;
    const t = this.now();
    if (!force && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.stream.write(`\r\x1b[K${this.render()}`);
    this.drawn = true;
  }
}
