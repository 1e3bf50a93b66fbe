import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { OFFLINE_TIMEOUT_MS, RedisClient, reconnectBackoff } from './redis-client.js';
import { RedisKeys } from './redis-keys.js';

/**
 * One node's connections to the shared Redis: one for commands (records, blobs, PUBLISH), one held
 * in subscriber mode (events, management commands and their replies), and one per BullMQ Queue or Worker.
 */
export class RedisConnections {
  private readonly bullClients: Redis[] = [];

  private constructor(
    private readonly url: string,
    readonly keys: RedisKeys,
    readonly commands: RedisClient,
    readonly subscriber: RedisClient,
  ) {}

  static async open(url: string, prefix: string, log: Pick<Logger, 'warn'>): Promise<RedisConnections> {
    const commands = new RedisClient(url, { onError: throttled(log, 'Redis command connection') });
    const subscriber = new RedisClient(url, { onError: throttled(log, 'Redis subscriber connection') });
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (err) {
      commands.close();
      subscriber.close();
      throw new Error(`QUEUE=${redact(url)}: cannot reach Redis (${(err as Error).message})`);
    }
    return new RedisConnections(url, new RedisKeys(prefix), commands, subscriber);
  }

  /**
   * An ioredis connection for a BullMQ Queue or Worker, which uses it as its main connection (a Worker
   * duplicates it for its blocking reads) and leaves it open: close() closes it. Its commands wait
   * through outages (BullMQ requires `maxRetriesPerRequest: null` for a Worker); a Queue's give up after
   * OFFLINE_TIMEOUT_MS, as ours do. One sent after that is harmless: adding a job id twice adds it once,
   * and a worker runs only jobs whose record is unfinished.
   */
  bullmq(use: 'queue' | 'worker'): Redis {
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      retryStrategy: reconnectBackoff,
      ...(use === 'queue' ? { commandTimeout: OFFLINE_TIMEOUT_MS } : {}),
    });
    // The Queue or Worker reports connection errors itself; without a listener ioredis would print them.
    client.on('error', () => undefined);
    this.bullClients.push(client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.bullClients.map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())));
    this.subscriber.close();
    await this.commands.quit();
  }
}

/** An error handler that logs at most one line a minute: not every failed reconnect of an outage. */
function throttled(log: Pick<Logger, 'warn'>, what: string): (err: Error) => void {
  let logged = false;
  return (err) => {
    if (logged) return;
    logged = true;
    log.warn({ err: err.message }, `${what} (reconnecting)`);
    setTimeout(() => (logged = false), 60_000).unref();
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
