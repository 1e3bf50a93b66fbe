import type { JobStore } from './store.js';

/**
 * Deletes the outputs of `temp: "yes"` jobs once they expire (24 h by default) and marks the jobs, so
 * `fetch` and the output URLs say "expired" rather than pretending the files still exist.
 */
export async function sweepExpired(
  store: JobStore,
  deleteOutputs: (names: readonly string[]) => Promise<unknown>,
  now = Date.now(),
): Promise<number> {
  let swept = 0;
  for (const record of await store.expired(now)) {
    if (record.expired) continue;
    await deleteOutputs(record.result?.outputs ?? []);
    await store.update(record.id, { expired: true, expiresAt: null });
    swept++;
  }
  return swept;
}
