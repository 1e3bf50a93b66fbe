import type { WebhookDelivery } from './record.js';

export interface WebhookOptions {
  attempts: number;
  timeoutMs: number;
  /** First retry delay; doubles each time. */
  backoffMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { attempts: 5, timeoutMs: 10_000, backoffMs: 2_000 };

/**
 * POSTs a job's final response to the client's webhook, retrying with exponential backoff on network
 * errors, timeouts and non-2xx answers. Each attempt is reported so the job record keeps the history.
 */
export async function deliverWebhook(
  url: string,
  body: unknown,
  options: WebhookOptions,
  onAttempt: (d: WebhookDelivery) => Promise<void> | void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<boolean> {
  const payload = JSON.stringify(body);
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'controlnet-server' },
        body: payload,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      error = e.name === 'TimeoutError' ? `timed out after ${options.timeoutMs} ms` : e.cause?.code ?? e.message;
    }
    await onAttempt({ attempt, at: Date.now(), status, error });
    if (error === null) return true;
    if (attempt < options.attempts) await sleep(options.backoffMs * 2 ** (attempt - 1));
  }
  return false;
}
