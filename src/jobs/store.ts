import type { JobRecord, JobState } from './record.js';

/** Where job records live: SQLite on one box, Redis when several share a queue. */
export interface JobStore {
  insert(record: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | null>;
  /** Applies a partial update; returns the new record, or null when the job does not exist. */
  update(id: string, patch: Partial<Omit<JobRecord, 'id'>>): Promise<JobRecord | null>;
  /** Jobs in these states, oldest first. */
  byState(states: readonly JobState[]): Promise<JobRecord[]>;
  /** Finished jobs with temporary outputs past their expiry. */
  expired(now: number): Promise<JobRecord[]>;
  counts(): Promise<Record<JobState, number>>;
  close(): Promise<void>;
}

/** Binary data (input images, output PNGs) by key. */
export interface BlobStore {
  /** `ttlMs`: the blob may be dropped after this long (stores that expire data honour it; files ignore it). */
  put(key: string, data: Uint8Array, ttlMs?: number): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  delete(keys: readonly string[]): Promise<void>;
}
