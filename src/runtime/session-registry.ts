/**
 * One registry of a worker's open sessions (base-model parts, ControlNets, VAEs, annotators, and whatever else opens
 * one: fused step graphs, merged LoRA UNets) with their size, kept under MODEL_MEMORY_BUDGET. Before a session
 * opens, `admit` makes room by closing the least recently used sessions that no running work holds; work holds a
 * session by `use`-ing it inside `hold(fn)`, and lets go when `fn` settles. A session that cannot fit (bigger than
 * the budget, or the held ones leave too little) is refused with a SessionBudgetError naming the budget.
 *
 * A session counts its weights (its files' bytes) plus, once measured, its activations: the memory its first run at
 * the warm-up sizes took (warmup.ts, activation-probe.ts). A measurement is kept per key, so a session closed and
 * reopened counts it again from the start; sessions never measured count their weights only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClientError } from '../domain/client-error.js';

/** What a session owner hands the registry; `close` removes the session from the owner's cache and releases it. */
export interface BudgetedSession {
  key: string;
  /** "unet", "controlnet", "annotator", "fused_step", … (reports only). */
  kind: string;
  bytes: number;
  close: () => Promise<void>;
}

/** The small interface other session caches register through. */
export interface SessionBudget {
  /** Makes room (closing LRU sessions nobody holds), then records the session; throws SessionBudgetError. */
  admit(session: BudgetedSession): Promise<void>;
  /** Marks the session used now and holds it until the current `hold` scope ends (no-op outside one). */
  use(key: string): void;
  /** The owner closed it (clear_cache, a failed open): stop counting it. */
  forget(key: string): void;
}

export class SessionBudgetError extends ClientError {
  constructor(message: string) {
    super(400, message);
    this.name = 'SessionBudgetError';
  }
}

/** Memory a session's first run took at warm-up, and how it was measured. */
export interface ActivationMeasure {
  bytes: number;
  /** E.g. "resident set growth over the first run at warm-up (512×512, batch 2)". */
  measured: string;
}

export interface OpenSessionReport {
  key: string;
  kind: string;
  /** What it counts against the budget: weights plus measured activations. */
  bytes: number;
  weightBytes: number;
  /** Null: not measured, its weights alone count. */
  activations: ActivationMeasure | null;
  /** Held by running work (a job, hint, warm-up or preload). */
  held: boolean;
  /** Larger = used more recently. */
  useOrder: number;
}

interface Entry extends BudgetedSession {
  lastUsed: number;
  holds: number;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

export class SessionRegistry implements SessionBudget {
  private readonly entries = new Map<string, Entry>();
  private readonly scopes = new AsyncLocalStorage<Set<string>>();
  private readonly activations = new Map<string, ActivationMeasure>();
  private clock = 0;
  /** Sessions closed to make room since start. */
  evictions = 0;

  constructor(
    readonly budgetBytes: number,
    private readonly log: (line: string) => void = () => {},
  ) {}

  get usedBytes(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += this.counted(e);
    return sum;
  }

  /** Weights plus the activations measured for this key (none: weights only). */
  private counted(e: { key: string; bytes: number }): number {
    return e.bytes + (this.activations.get(e.key)?.bytes ?? 0);
  }

  /**
   * Records what a session's first run at the warm-up sizes took; it counts from now on (and after a reopen). Nothing
   * is closed here: the next admission makes room.
   */
  recordActivations(key: string, measure: ActivationMeasure): void {
    this.activations.set(key, measure);
  }

  /** Runs `fn`; every session `use`d inside it (across awaits) stays open until it settles. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const held = new Set<string>();
    try {
      return await this.scopes.run(held, fn);
    } finally {
      for (const key of held) {
        const e = this.entries.get(key);
        if (e) e.holds--;
      }
    }
  }

  use(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.lastUsed = ++this.clock;
    const held = this.scopes.getStore();
    if (held && !held.has(key)) {
      held.add(key);
      e.holds++;
    }
  }

  async admit(session: BudgetedSession): Promise<void> {
    if (this.entries.has(session.key)) return this.use(session.key);
    const need = this.counted(session);
    if (need > this.budgetBytes) {
      throw new SessionBudgetError(`${session.kind} needs ${gib(need)}, more than MODEL_MEMORY_BUDGET (${gib(this.budgetBytes)}) on its own`);
    }
    const closing: Promise<void>[] = [];
    let used = this.usedBytes;
    if (used + need > this.budgetBytes) {
      const idle = [...this.entries.values()].filter((e) => e.holds === 0).sort((a, b) => a.lastUsed - b.lastUsed);
      const freeable = idle.reduce((s, e) => s + this.counted(e), 0);
      if (used - freeable + need > this.budgetBytes) {
        throw new SessionBudgetError(
          `${session.kind} needs ${gib(need)} but MODEL_MEMORY_BUDGET (${gib(this.budgetBytes)}) has ${gib(this.budgetBytes - (used - freeable))} left beside the sessions running work holds; use fewer ControlNets or raise MODEL_MEMORY_BUDGET`,
        );
      }
      for (const e of idle) {
        if (used + need <= this.budgetBytes) break;
        this.entries.delete(e.key);
        used -= this.counted(e);
        this.evictions++;
        this.log(
          `closed ${e.kind} ${e.key} (${gib(this.counted(e))}, least recently used) to make room for ${session.kind} ${session.key} under MODEL_MEMORY_BUDGET ${gib(this.budgetBytes)}`,
        );
        closing.push(e.close().catch(() => undefined));
      }
    }
    this.entries.set(session.key, { ...session, lastUsed: ++this.clock, holds: 0 });
    this.use(session.key);
    // The memory is free once the evicted sessions are released.
    await Promise.all(closing);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Whether running work holds the session now (it will not be closed to make room). */
  isHeld(key: string): boolean {
    return (this.entries.get(key)?.holds ?? 0) > 0;
  }

  /** What a session of these weights will count once open: its weights plus the activations measured for its key. */
  expectedBytes(key: string, weightBytes: number): number {
    return this.counted({ key, bytes: weightBytes });
  }

  /** Would `bytes` fit now without closing anything? (Preload of "the ControlNets that fit".) */
  fitsWithoutEviction(bytes: number): boolean {
    return this.usedBytes + bytes <= this.budgetBytes;
  }

  report(): OpenSessionReport[] {
    return [...this.entries.values()].map((e) => ({
      key: e.key,
      kind: e.kind,
      bytes: this.counted(e),
      weightBytes: e.bytes,
      activations: this.activations.get(e.key) ?? null,
      held: e.holds > 0,
      useOrder: e.lastUsed,
    }));
  }
}
