import type { WebhookDelivery } from './record.js';
import { STRICT_POLICY, type OutboundPolicy } from '../net/address-policy.js';
import { guardedFetch, OutboundError } from '../net/guarded-fetch.js';

export interface WebhookOptions {
  attempts: number;
  timeoutMs: number;
  /** First retry delay; doubles each time. */
  backoffMs: number;
  /** Where webhooks may point (config.outbound); public addresses on 80/443 only when absent. */
  policy?: OutboundPolicy;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { attempts: 5, timeoutMs: 10_000, backoffMs: 2_000 };

/** A webhook's answer body is not used; a longer one fails the attempt. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * POSTs a job's final response to the client's webhook through the guarded client (no private addresses,
 * no redirects: a 3xx is a failed attempt, so the POST never turns into a GET), retrying with exponential
 * backoff on network errors, timeouts and non-2xx answers (an address the policy refuses is not retried). Each attempt is reported so the job
 * record keeps the history.
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
    let refused = false;
    try {
      const res = await guardedFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'controlnet-server' },
        body: payload,
        policy: options.policy ?? STRICT_POLICY,
        timeoutMs: options.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        maxRedirects: 0,
      });
      status = res.status;
      if (status >= 300 && status < 400) error = `HTTP ${status} (redirects are not followed)`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof OutboundError ? err.message : (err as Error).message;
      refused = err instanceof OutboundError && err.refused;
    }
    await onAttempt({ attempt, at: Date.now(), status, error });
    if (error === null) return true;
    // The policy will refuse it again: no retries.
    if (refused) return false;
    if (attempt < options.attempts) await sleep(options.backoffMs * 2 ** (attempt - 1));
  }
  return false;
}
