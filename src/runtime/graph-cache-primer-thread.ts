/** A graph-cache primer thread (graph-cache-primer.ts): opens one model file through the cache, closes it, reports. */
import { parentPort, workerData } from 'node:worker_threads';
import { openSession, type SessionSettings } from './session.js';

const { file, settings } = workerData as { file: string; settings: SessionSettings };
try {
  const opened = await openSession(file, { ...settings, providers: ['cpu'] });
  await opened.session.release();
  parentPort!.postMessage({ ok: opened.fromGraphCache !== null });
} catch (err) {
  parentPort!.postMessage({ ok: false, reason: (err as Error).message });
}
