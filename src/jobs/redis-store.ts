import type { RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { randomJobId } from './outputs.js';
import { saveJob } from './redis-scripts.js';
import type { JobRecord, JobState } from './record.js';
import type { JobStore } from './store.js';

const STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed'];
type Patch = Partial<Omit<JobRecord, 'id'>>;

/** Field/value pairs of a record or patch, each value JSON (fields set to undefined are left out). */
function fields(values: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) out.push(key, JSON.stringify(value));
  }
  return out;
}

function decode(flat: string[] | null): JobRecord | null {
  if (!flat || flat.length === 0) return null;
  const record: Record<string, unknown> = {};
  for (let k = 0; k < flat.length; k += 2) record[flat[k]] = JSON.parse(flat[k + 1]);
  return record as unknown as JobRecord;
}

/**
 * Job records in Redis, shared by every node: one hash per job (one JSON value per field, so an
 * update writes only what changed), kept in step with per-state and expiry indexes by one Lua script.
 * The connection belongs to the caller; close() leaves it open.
 */
export class RedisJobStore implements JobStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  private scriptKeys(id: string): string[] {
    return [this.keys.job(id), ...STATES.map((s) => this.keys.state(s)), this.keys.expiring];
  }

  /** A new random numeric job id, not used by any job in this Redis (the insert refuses a duplicate too). */
  async newId(): Promise<string> {
    for (;;) {
      const id = randomJobId();
      if ((await this.redis.send<number>('EXISTS', [this.keys.job(id)])) === 0) return id;
    }
  }

  async insert(record: JobRecord): Promise<void> {
    await this.insertIfRoom(record, 0);
  }

  /** Inserts a queued job unless `maxQueued` jobs are already queued (0: no bound); atomic across nodes. */
  async insertIfRoom(record: JobRecord, maxQueued: number): Promise<boolean> {
    const saved = await saveJob.run(this.redis, this.scriptKeys(record.id), [record.id, 'insert', maxQueued, 0, ...fields({ ...record })]);
    return saved !== null;
  }

  async get(id: string): Promise<JobRecord | null> {
    return decode(await this.redis.send('HGETALL', [this.keys.job(id)]));
  }

  update(id: string, patch: Patch): Promise<JobRecord | null> {
    return this.updateIf(id, {}, patch);
  }

  /**
   * Applies `patch` only while the stored fields equal `expected` (compare-and-set): a node finishing
   * or restarting a job checks it still owns that run, so a job is finished, and announced, once.
   */
  async updateIf(id: string, expected: Patch, patch: Patch): Promise<JobRecord | null> {
    const write = fields(patch);
    if (write.length === 0) return this.get(id);
    const check = fields(expected);
    const flat = await saveJob.run<string[] | null>(this.redis, this.scriptKeys(id), [id, 'update', 0, check.length / 2, ...check, ...write]);
    return decode(flat);
  }

  /** Ids in one state, oldest first. */
  ids(state: JobState): Promise<string[]> {
    return this.redis.send('ZRANGE', [this.keys.state(state), 0, -1]);
  }

  count(state: JobState): Promise<number> {
    return this.redis.send('ZCARD', [this.keys.state(state)]);
  }

  /** How many queued jobs are older than this one (its place in line), or null when it is not queued. */
  queuedAhead(id: string): Promise<number | null> {
    return this.redis.send('ZRANK', [this.keys.state('queued'), id]);
  }

  async many(ids: readonly string[]): Promise<JobRecord[]> {
    // Sent together: the client pipelines them on its one connection.
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is JobRecord => r !== null);
  }

  async byState(states: readonly JobState[]): Promise<JobRecord[]> {
    const records = (await Promise.all(states.map(async (s) => this.many(await this.ids(s))))).flat();
    return records.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async expired(now: number): Promise<JobRecord[]> {
    return this.many(await this.redis.send('ZRANGEBYSCORE', [this.keys.expiring, '-inf', now]));
  }

  async counts(): Promise<Record<JobState, number>> {
    const n = await Promise.all(STATES.map((s) => this.count(s)));
    return { queued: n[0], running: n[1], succeeded: n[2], failed: n[3] };
  }

  async close(): Promise<void> {}
}
