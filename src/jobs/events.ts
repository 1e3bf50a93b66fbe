import { EventEmitter } from 'node:events';
import type { JobRecord } from './record.js';

export type JobEvent = { type: 'progress'; id: string; step: number; total: number } | { type: 'state'; id: string; record: JobRecord };

/**
 * Job lifecycle events for waiters (sync responses) and SSE streams. Local mode emits them in process;
 * the Redis backend feeds the same emitter from its pub/sub.
 */
export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(event: JobEvent): void {
    this.emitter.emit(event.id, event);
  }

  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    this.emitter.on(id, listener);
    return () => this.emitter.off(id, listener);
  }
}
