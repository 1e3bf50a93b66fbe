import type { Logger } from 'pino';
import type { JobRecord } from './record.js';
import { failedBody, successBody } from './responses.js';
import type { JobStore } from './store.js';
import { deliverWebhook, type WebhookOptions } from './webhooks.js';
import { redactUrl } from '../net/redact-url.js';

export interface WebhookSenderDeps {
  store: JobStore;
  options: WebhookOptions;
  log: Pick<Logger, 'warn' | 'error'>;
  outputs: { outputUrls(record: JobRecord): Promise<string[]>; base64Outputs(record: JobRecord): Promise<string[]> };
}

/**
 * Sends finished jobs' webhooks in the background (they never hold up the queue), recording each
 * attempt in the job, and lets shutdown wait for the ones still in flight.
 */
export class WebhookSender {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: WebhookSenderDeps) {}

  send(record: JobRecord): void {
    const url = record.response.webhook;
    if (!url) return;
    const { store, options, log } = this.deps;
    const delivery = (async () => {
      const body = record.state === 'succeeded' ? await successBody(record, this.deps.outputs) : failedBody(record);
      const deliveries = [...record.webhookDeliveries];
      const ok = await deliverWebhook(url, { ...body, track_id: record.response.trackId }, options, async (d) => {
        deliveries.push(d);
        await store.update(record.id, { webhookDeliveries: [...deliveries] });
      });
      if (!ok) log.warn({ job: record.id, webhook: redactUrl(url), error: deliveries.at(-1)?.error }, 'webhook delivery failed after all attempts');
    })().catch((err) => log.error({ err, job: record.id }, 'webhook delivery crashed'));
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Resolves when every delivery in flight has ended, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
