import type { JobEvents } from './events.js';
import { FINISHED, type JobRecord } from './record.js';

/**
 * Requests waiting for their job to finish (synchronous responses). Shutdown answers them all with
 * null, so the client gets "processing" and fetches the result later (from this node or another).
 */
export class FinishWaiters {
  private readonly pending = new Set<(r: JobRecord | null) => void>();

  constructor(
    private readonly events: JobEvents,
    private readonly read: (id: string) => Promise<JobRecord | null>,
  ) {}

  /** The record once finished, or null if it is still unfinished after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<JobRecord | null> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: JobRecord | null) => {
        if (settled) return;
        settled = true;
        this.pending.delete(done);
        unsubscribe();
        clearTimeout(timer);
        resolve(r);
      };
      this.pending.add(done);
      const unsubscribe = this.events.subscribe(id, (e) => {
        if (e.type === 'state' && FINISHED.includes(e.record.state)) done(e.record);
      });
      const timer = setTimeout(() => done(null), timeoutMs);
      // It may have finished before we subscribed.
      void this.read(id).then(
        (r) => r && FINISHED.includes(r.state) && done(r),
        () => undefined,
      );
    });
  }

  releaseAll(): void {
    for (const answer of [...this.pending]) answer(null);
  }
}
