import type { JobRecord } from './record.js';
import type { JobStore } from './store.js';

/**
 * Deletes the outputs of `temp: "yes"` jobs once they expire (24 h by default) and marks the jobs, so
 * `fetch` and the output URLs say "expired" rather than pretending the files still exist.
 */
export async function sweepExpired(
  store: JobStore,
  deleteOutputs: (names: readonly string[], record: JobRecord) => Promise<unknown>,
  now = Date.now(),
): Promise<number> {
  let swept = 0;
  let failure: unknown = null;
  for (const record of await store.expired(now)) {
    if (record.expired) continue;
    try {
      await deleteOutputs(record.result?.outputs ?? [], record);
    } catch (err) {
      // The store may be down (S3): the job stays unexpired and is tried again at the next sweep; the others go on.
      failure ??= err;
      continue;
    }
    await store.update(record.id, { expired: true, expiresAt: null });
    swept++;
  }
  if (failure) throw failure;
  return swept;
}
