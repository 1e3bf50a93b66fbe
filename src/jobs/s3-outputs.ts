import type { JobRecord, JobResult } from './record.js';
import { outputName } from './outputs.js';
import { outputUrl } from './responses.js';
import type { S3BlobStore } from './s3-blob-store.js';

/**
 * A job's output PNGs as S3 objects: `outputs/<id>-<n>.png`, or `temp/<id>-<n>.png` for `temp: "yes"`
 * jobs (so a bucket lifecycle rule on that prefix can expire them besides the sweeper), under the
 * store's prefix. The record keeps the bucket, prefix and public URL they were written with.
 */
export const outputObjectKey = (record: JobRecord, name: string) => `${record.response.temp ? 'temp' : 'outputs'}/${name}`;

/** Uploads the PNGs; returns the names and the location for the job's result. */
export async function saveOutputObjects(objects: S3BlobStore, record: JobRecord, pngs: readonly Uint8Array[]): Promise<Pick<JobResult, 'outputs' | 's3'>> {
  const at = objects.location;
  const outputs = await Promise.all(
    pngs.map(async (png, n) => {
      const name = outputName(record, n);
      await objects.putAt(at, outputObjectKey(record, name), png);
      return name;
    }),
  );
  return { outputs, s3: at };
}

/**
 * The URLs `output` lists: the server's own /generations/ URLs, or for outputs in S3 their public URLs
 * or presigned GET URLs (fresh on every answer; a temp output's URL lives no longer than the output).
 */
export async function jobOutputUrls(objects: S3BlobStore | undefined, record: JobRecord, now = Date.now()): Promise<string[]> {
  const result = record.result!;
  if (!result.s3 || !objects) return result.outputs.map((name) => outputUrl(record.response.baseUrl, name));
  const left = record.expiresAt !== null ? (record.expiresAt - now) / 1000 : Infinity;
  const seconds = Math.min(objects.settings?.presignSeconds ?? 3600, left);
  return Promise.all(result.outputs.map((name) => objects.url(result.s3!, outputObjectKey(record, name), seconds)));
}

/** The bytes of each output (null where missing), from S3 or from the node's own store. */
export function readJobOutputs(
  objects: S3BlobStore | undefined,
  record: JobRecord,
  readLocal: (name: string) => Promise<Buffer | null>,
): Promise<(Buffer | null)[]> {
  const result = record.result;
  if (!result) return Promise.resolve([]);
  const s3 = result.s3;
  return Promise.all(result.outputs.map((name) => (s3 && objects ? objects.getAt(s3, outputObjectKey(record, name)) : readLocal(name))));
}

/** Deletes a job's output objects (the sweeper, for expired temp outputs). */
export function deleteOutputObjects(objects: S3BlobStore, record: JobRecord): Promise<void> {
  const result = record.result!;
  return objects.deleteAt(
    result.s3!,
    result.outputs.map((name) => outputObjectKey(record, name)),
  );
}
