/**
 * A job's durable record: everything needed to answer `fetch`, re-run it after a restart and report
 * webhook delivery. Images live beside it in a BlobStore, never in the record.
 */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface WebhookDelivery {
  attempt: number;
  at: number;
  /** HTTP status, or null when no response came. */
  status: number | null;
  error: string | null;
}

export interface JobResult {
  /** Output file names, e.g. "<id>-0-<token>.png" (outputName). */
  outputs: string[];
  meta: Record<string, unknown>;
  warnings: string[];
  /** Seconds the generation took on the worker. */
  generationTime: number;
  /** Set when the outputs are objects in an S3-compatible store (OUTPUT_STORE=s3): where they were written. */
  s3?: S3Location;
}

export interface JobRecord {
  id: string;
  state: JobState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** How many times a worker started it (re-runs after a crash or restart count). */
  attempts: number;
  /**
   * The tenant that made it (a fingerprint of its API key, never the key): only that key, or an admin
   * key, reads it. Absent in records written before tenants existed: those are for admin keys only.
   */
  owner?: string;
  /** 128 random bits (hex) in every output file name: the URL is the capability. Absent in old records. */
  fileToken?: string;
  /** The node that ran it last (NODE_NAME; set when several nodes share a Redis queue). */
  node?: string;
  /** The generation spec without its images (JSON-safe: the seed is a decimal string). */
  spec: Record<string, unknown>;
  /** Blob keys of the spec's images, by slot ("init", "mask", "control.0", ...). */
  inputs: Record<string, string>;
  /** What the response needs that the worker does not compute. */
  response: {
    /** Base of the output URLs (the address the client used, or PUBLIC_URL). */
    baseUrl: string;
    base64: boolean;
    temp: boolean;
    webhook: string | null;
    trackId: string | number | null;
    warnings: string[];
    meta: Record<string, unknown>;
  };
  progress: { step: number; total: number } | null;
  result: JobResult | null;
  error: { message: string; clientError: boolean } | null;
  /** temp outputs are deleted after this time (ms since epoch). */
  expiresAt: number | null;
  /** Set once the sweeper has deleted the temp outputs. */
  expired?: boolean;
  webhookDeliveries: WebhookDelivery[];
}

export const FINISHED: readonly JobState[] = ['succeeded', 'failed'];

/** Where objects were written; job records keep it, so outputs stay reachable after update_s3 changes the bucket. */
export interface S3Location {
  bucket: string;
  prefix: string;
  publicUrl: string | null;
}
