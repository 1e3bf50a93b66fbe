import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobRecord } from './record.js';

/**
 * The n-th output file of a job: <id>-<n>-<fileToken>.png. The token (128 random bits, fixed when the job
 * is accepted, so "processing" answers can list the future links) makes the URL unguessable; records
 * from before tokens keep their <id>-<n>.png names.
 */
export function outputName(record: Pick<JobRecord, 'id' | 'fileToken'>, n: number): string {
  return record.fileToken ? `${record.id}-${n}-${record.fileToken}.png` : `${record.id}-${n}.png`;
}

/** A new output-name token: 128 random bits in hex. */
export const newFileToken = () => randomBytes(16).toString('hex');

/** Writes a job's PNGs (atomically: temp file, then rename) and returns the file names. */
export async function writeOutputs(outputDir: string, record: Pick<JobRecord, 'id' | 'fileToken'>, pngs: readonly Uint8Array[]): Promise<string[]> {
  await fs.mkdir(outputDir, { recursive: true });
  return Promise.all(
    pngs.map(async (png, n) => {
      const name = outputName(record, n);
      const tmp = path.join(outputDir, `.${name}.tmp`);
      await fs.writeFile(tmp, png);
      await fs.rename(tmp, path.join(outputDir, name));
      return name;
    }),
  );
}

/** The smallest id handed out: ids always have 16 digits, like the hosted API's. */
const MIN_ID = 1_000_000_000_000_000;

/**
 * A random numeric job id in [10^15, 2^53): about 52.8 random bits, exact as a JSON number. Not a
 * timestamp or a counter, so one client's ids say nothing about another's; callers check uniqueness
 * in their store. (The output URLs carry 128 more random bits: see outputName.)
 */
export function randomJobId(): string {
  const span = Number.MAX_SAFE_INTEGER - MIN_ID;
  // 53 random bits; values past the span are drawn again (no modulo bias).
  for (;;) {
    const value = Number(randomBytes(8).readBigUInt64BE(0) >> 11n);
    if (value < span) return String(MIN_ID + value);
  }
}
