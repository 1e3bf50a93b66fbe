import { outputName } from './outputs.js';
import { scrubPaths } from '../util/scrub-paths.js';
import type { JobRecord } from './record.js';

/**
 * The contract's response bodies for a job, built from its record: the same body answers the
 * synchronous request, `fetch`, the SSE stream's last event and the webhook.
 */
export const outputUrl = (baseUrl: string, name: string) => `${baseUrl}/generations/${name}`;

/** Where a finished job's outputs are read from (the job backend): their URLs and, for `base64: "yes"`, their bytes. */
export interface OutputAccess {
  outputUrls(record: JobRecord): Promise<string[]>;
  /** Absent: URLs only, even for `base64: "yes"` jobs (the SSE stream's last event). */
  base64Outputs?(record: JobRecord): Promise<string[]>;
}

export async function successBody(record: JobRecord, outputs: OutputAccess) {
  const result = record.result!;
  const urls = await outputs.outputUrls(record);
  const base64Outputs = record.response.base64 && outputs.base64Outputs ? await outputs.base64Outputs(record) : undefined;
  const warnings = [...record.response.warnings, ...result.warnings];
  return {
    status: 'success' as const,
    generationTime: result.generationTime,
    id: Number(record.id),
    output: base64Outputs ?? urls,
    ...(base64Outputs ? { output_urls: urls } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(record.response.trackId !== null ? { track_id: record.response.trackId } : {}),
    meta: result.meta,
  };
}

export function failedBody(record: JobRecord) {
  return {
    status: 'failed' as const,
    id: Number(record.id),
    message: scrubPaths(record.error?.message ?? 'the job failed'),
    ...(record.response.trackId !== null ? { track_id: record.response.trackId } : {}),
    output: [] as string[],
  };
}

export interface QueueStatus {
  /** Jobs ahead of this one (0: next to start), -1 when running. */
  position: number | null;
  etaSeconds: number;
}

export function processingBody(record: JobRecord, status: QueueStatus) {
  const base = record.response.baseUrl;
  const n = Number(record.response.meta.n_samples ?? 1);
  const message =
    record.state === 'running'
      ? 'Your image is being generated; fetch the result from fetch_result.'
      : 'Your request is queued; fetch the result from fetch_result.';
  return {
    status: 'processing' as const,
    id: Number(record.id),
    eta: Math.max(1, Math.round(status.etaSeconds)),
    message,
    // The hosted API spells it this way; clients read either.
    messege: message,
    fetch_result: `${base}/api/v1/enterprise/fetch/${record.id}`,
    future_links: Array.from({ length: n }, (_, k) => outputUrl(base, outputName(record, k))),
    output: [] as string[],
    state: record.state,
    queue_position: status.position === -1 ? 0 : status.position,
    progress: record.progress,
    ...(record.response.trackId !== null ? { track_id: record.response.trackId } : {}),
    meta: record.response.meta,
  };
}
