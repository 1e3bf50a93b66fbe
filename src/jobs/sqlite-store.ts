import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { JobRecord, JobState } from './record.js';
import type { JobStore } from './store.js';

/**
 * Job records in an embedded SQLite database (checked first with checkJobDatabase: db-integrity.ts) (WAL mode: a `kill -9` loses at most the transaction in
 * flight, never an acknowledged job). The record is one JSON document; state and expiry are columns
 * so recovery and the sweeper can query them.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at);
      CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at) WHERE expires_at IS NOT NULL;
    `);
    // Databases from before tenants: the owner column (the key fingerprint; also in the record) is added.
    const columns = (this.db.pragma('table_info(jobs)') as { name: string }[]).map((c) => c.name);
    if (!columns.includes('owner')) this.db.exec('ALTER TABLE jobs ADD COLUMN owner TEXT');
    this.statements = {
      insert: this.db.prepare('INSERT INTO jobs (id, state, created_at, expires_at, owner, record) VALUES (?, ?, ?, ?, ?, ?)'),
      get: this.db.prepare('SELECT record FROM jobs WHERE id = ?'),
      save: this.db.prepare('UPDATE jobs SET state = ?, expires_at = ?, record = ? WHERE id = ?'),
      expired: this.db.prepare("SELECT record FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ? AND state IN ('succeeded', 'failed')"),
      counts: this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
    };
  }

  async insert(record: JobRecord): Promise<void> {
    this.statements.insert.run(record.id, record.state, record.createdAt, record.expiresAt, record.owner ?? null, JSON.stringify(record));
  }

  async get(id: string): Promise<JobRecord | null> {
    const row = this.statements.get.get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as JobRecord) : null;
  }

  async update(id: string, patch: Partial<Omit<JobRecord, 'id'>>): Promise<JobRecord | null> {
    // Read-modify-write in one transaction: the HTTP side and the runner may update the same job.
    return this.db.transaction(() => {
      const row = this.statements.get.get(id) as { record: string } | undefined;
      if (!row) return null;
      const next = { ...(JSON.parse(row.record) as JobRecord), ...patch };
      this.statements.save.run(next.state, next.expiresAt, JSON.stringify(next), id);
      return next;
    })();
  }

  async byState(states: readonly JobState[]): Promise<JobRecord[]> {
    if (states.length === 0) return [];
    const rows = this.db.prepare(`SELECT record FROM jobs WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY created_at, id`).all(...states) as {
      record: string;
    }[];
    return rows.map((r) => JSON.parse(r.record) as JobRecord);
  }

  async expired(now: number): Promise<JobRecord[]> {
    return (this.statements.expired.all(now) as { record: string }[]).map((r) => JSON.parse(r.record) as JobRecord);
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const row of this.statements.counts.all() as { state: JobState; n: number }[]) counts[row.state] = row.n;
    return counts;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
