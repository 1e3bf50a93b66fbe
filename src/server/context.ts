/** What the route plugins share: the AppContext built by assemble.ts (or a test). */
import type { ServerConfig } from '../config.js';
import type { WorkerControl } from '../domain/index.js';
import type { StorageReport } from '../jobs/db-integrity.js';
import type { S3BlobStore } from '../jobs/s3-blob-store.js';
import type { Jobs } from '../jobs/service.js';
import type { BlobStore } from '../jobs/store.js';
import type { ModelRegistry } from '../runtime/model-registry.js';
import type { Metrics } from './metrics.js';

/** What the routes need; built by main.ts (or a test) and shared by every plugin. */
export interface AppContext {
  config: ServerConfig;
  models: ModelRegistry;
  jobs: Jobs;
  workers: WorkerControl;
  metrics: Metrics;
  defaultModel: () => string | null;
  /** True once the default model's sessions are open. */
  ready: () => boolean;
  /** Where API nodes sharing a Redis queue share uploaded images (absent on one box: they stay on disk). */
  sharedFiles?: BlobStore;
  /** The S3-compatible output store (OUTPUT_STORE=s3; on one box also unconfigured, for update_s3). */
  objects?: S3BlobStore;
  /** The job database's state at start (QUEUE=local): system_details reports it, a quarantine included. */
  storage?: StorageReport;
  /** Process start to ready (preload and warm-up done), once ready. */
  startToReadyMs?: () => number | null;
}

/** Where uploaded images are shared: the S3 store while it is configured, else sharedFiles. */
export const uploadStore = (ctx: AppContext): BlobStore | undefined => (ctx.objects?.enabled ? ctx.objects : ctx.sharedFiles);
