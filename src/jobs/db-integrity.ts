import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';

/** The job database as system_details reports it. */
export interface StorageReport {
  backend: 'sqlite';
  /** The file name (in DATA_DIR). */
  database: string;
  /** Set when this start found the database damaged or foreign and moved it aside (ON_DB_CORRUPTION=quarantine). */
  quarantined: { file: string; reason: string; at: string } | null;
}

/** The tables and columns of a job database this server wrote. */
const OUR_TABLES: Record<string, readonly string[]> = { jobs: ['id', 'state', 'created_at', 'expires_at', 'record'] };

/**
 * Why the job database at `file` cannot be used as it is, or null when it can (or does not exist yet).
 * Damaged: SQLite cannot read it or `PRAGMA quick_check` finds faults. Foreign: it holds tables this
 * server does not write. Empty: a 0-byte file beside generated images (a database that held their
 * records was lost); a 0-byte file with no images is a database never written to, and is used.
 */
export function databaseProblem(file: string, outputDir: string): string | null {
  if (!existsSync(file)) return null;
  if (statSync(file).size === 0) {
    const images = existsSync(outputDir) ? readdirSync(outputDir).filter((n) => n.endsWith('.png')).length : 0;
    return images > 0 ? `it is empty (0 bytes) while ${images} generated images are on disk: their job records are gone` : null;
  }
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { fileMustExist: true });
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const faults = rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((r) => r !== 'ok');
    if (faults.length > 0) return `PRAGMA quick_check: ${faults.slice(0, 3).join('; ')}${faults.length > 3 ? ` (${faults.length} faults)` : ''}`;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map(
      (t) => t.name,
    );
    const foreign = tables.filter((t) => !(t in OUR_TABLES));
    if (foreign.length > 0) return `it is not this server's job database (tables: ${tables.join(', ')})`;
    for (const table of tables) {
      const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      const missing = OUR_TABLES[table].filter((c) => !columns.includes(c));
      if (missing.length > 0) return `it is not this server's job database (table ${table} lacks ${missing.join(', ')})`;
    }
    return null;
  } catch (err) {
    return (err as Error).message.replace(/\s+/g, ' ');
  } finally {
    db?.close();
  }
}

/** Thrown at start (ON_DB_CORRUPTION=fail) with a one-line message naming the file and the fix. */
export class DamagedDatabaseError extends Error {}

/** A path for the operator's log: relative to the working directory when inside it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/**
 * Checks the job database before it is opened. A damaged or foreign one either stops the start
 * (`fail`: the message names the file and both fixes) or is moved aside with its -wal and -shm files
 * to `<name>.corrupt-<time>` (`quarantine`: logged, and reported in system_details) so a fresh one
 * starts. Never silently.
 */
export function checkJobDatabase(file: string, outputDir: string, mode: 'fail' | 'quarantine', log: Pick<Logger, 'error'>, now = new Date()): StorageReport {
  const report: StorageReport = { backend: 'sqlite', database: path.basename(file), quarantined: null };
  const reason = databaseProblem(file, outputDir);
  if (!reason) return report;
  const name = shown(file);
  if (mode === 'fail') {
    throw new DamagedDatabaseError(
      `job database ${name} cannot be used: ${reason}. Not starting, so no job record is lost silently: restore ${name} from a backup, ` +
        'or start with ON_DB_CORRUPTION=quarantine to move it aside and start with an empty job database',
    );
  }
  const moved = `${file}.corrupt-${stamp(now)}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, moved + suffix);
  }
  log.error(
    { database: name, moved_to: shown(moved), reason },
    `job database ${name} cannot be used (${reason}); moved aside to ${path.basename(moved)} (ON_DB_CORRUPTION=quarantine), starting with an empty one: earlier jobs and their outputs are no longer served`,
  );
  report.quarantined = { file: path.basename(moved), reason, at: now.toISOString() };
  return report;
}
