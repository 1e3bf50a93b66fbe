/** Thrown when the queue is at its bound: the request is refused (HTTP 429), nothing is accepted. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the generation queue is full (${limit} jobs waiting); retry later`);
  }
}

/**
 * A bounded FIFO of job ids feeding a fixed number of slots (one per inference worker): each slot
 * runs one job at a time. Waiting jobs beyond `maxWaiting` are refused at once.
 */
export class LocalQueue {
  private readonly waiting: string[] = [];
  private readonly running = new Map<number, string>();
  private readonly idleSlots: number[];
  /** Places promised to submissions still storing their inputs (reserve()), counted as waiting. */
  private reserved = 0;
  private paused = false;
  private drained: (() => void) | null = null;

  constructor(
    private readonly maxWaiting: number,
    slots: number,
    private readonly handler: (id: string, slot: number) => Promise<void>,
  ) {
    this.idleSlots = Array.from({ length: slots }, (_, i) => i);
  }

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running.size;
  }

  /** Ids in order: the running ones, then the waiting ones. */
  snapshot(): { running: string[]; waiting: string[] } {
    return { running: [...this.running.values()], waiting: [...this.waiting] };
  }

  /** Whether one more job would be accepted now (places already reserved count as taken). */
  hasRoom(): boolean {
    // Reserved jobs go to an idle slot first, if one is free (and the queue not paused), then wait.
    return this.waiting.length + this.reserved < this.maxWaiting + (this.paused ? 0 : this.idleSlots.length);
  }

  /**
   * Takes a place now, synchronously, for a job that is enqueued after some awaits (storing its inputs
   * and record): concurrent submissions cannot all see the same free place. Throws QueueFullError when
   * there is none. Call `enqueue(id)` on the reservation, or `cancel()` when the submission fails.
   */
  reserve(): { enqueue(id: string): void; cancel(): void } {
    if (!this.hasRoom()) throw new QueueFullError(this.maxWaiting);
    this.reserved++;
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      this.reserved--;
      return true;
    };
    return {
      enqueue: (id) => {
        if (close()) this.enqueue(id, true);
      },
      cancel: () => void close(),
    };
  }

  /** `force` bypasses the bound (jobs accepted before a restart are never dropped). */
  enqueue(id: string, force = false): void {
    if (!force && !this.hasRoom()) throw new QueueFullError(this.maxWaiting);
    this.waiting.push(id);
    this.pump();
  }

  /** 0 for the next job to start, 1 for the one after, ...; -1 when running; null when unknown. */
  position(id: string): number | null {
    const i = this.waiting.indexOf(id);
    if (i >= 0) return i;
    return [...this.running.values()].includes(id) ? -1 : null;
  }

  /** Removes one waiting job; false when it is not waiting (running, finished or unknown). */
  remove(id: string): boolean {
    const i = this.waiting.indexOf(id);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Removes every waiting job and returns their ids (running jobs finish). */
  clear(): string[] {
    return this.waiting.splice(0);
  }

  /** Stops starting jobs; resolves once the running ones have finished. */
  pause(): Promise<void> {
    this.paused = true;
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  private pump() {
    while (!this.paused && this.idleSlots.length > 0 && this.waiting.length > 0) {
      const slot = this.idleSlots.shift()!;
      const id = this.waiting.shift()!;
      this.running.set(slot, id);
      this.handler(id, slot)
        .catch(() => undefined) // the handler records its own failures
        .finally(() => {
          this.running.delete(slot);
          this.idleSlots.push(slot);
          if (this.paused && this.running.size === 0) this.drained?.();
          this.pump();
        });
    }
  }
}
