import { createBunRedisClient, type IRedisClient } from 'bullmq';
import type { Logger } from 'pino';
import { RedisClient, parseRedisUrl, type RedisAddress } from './redis-client.js';
import { RedisKeys } from './redis-keys.js';

/**
 * One node's connections to the shared Redis: one for commands (records, blobs, PUBLISH), one held
 * in subscriber mode (events, management commands and their replies), and fresh ones for BullMQ.
 */
export class RedisConnections {
  private readonly bullClients: IRedisClient[] = [];

  private constructor(
    readonly address: RedisAddress,
    readonly keys: RedisKeys,
    readonly commands: RedisClient,
    readonly subscriber: RedisClient,
  ) {}

  static async open(url: string, prefix: string, log: Pick<Logger, 'warn'>): Promise<RedisConnections> {
    const address = parseRedisUrl(url);
    const commands = new RedisClient(address, { reconnect: true });
    const subscriber = new RedisClient(address, { reconnect: true });
    // Both reconnect by themselves; what went wrong goes to the log.
    commands.onerror = (err) => log.warn({ err: err.message }, 'Redis command connection');
    subscriber.onerror = (err) => log.warn({ err: err.message }, 'Redis subscriber connection');
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (err) {
      commands.close();
      subscriber.close();
      throw new Error(`QUEUE=${redact(url)}: cannot reach Redis (${(err as Error).message})`);
    }
    return new RedisConnections(address, new RedisKeys(prefix), commands, subscriber);
  }

  /**
   * A connection for a BullMQ Queue or Worker. BullMQ 6 drives any client that has `send(command,
   * args)`, `connected`, `onconnect`/`onclose` and `duplicate()` through its adapter for that shape
   * (written for Bun's built-in client); it duplicates it for blocking reads and on reconnects.
   * It connects on first use (a Worker only ever uses its duplicates) and is closed by close(): BullMQ
   * leaves connections it was handed open.
   */
  bullmq(): IRedisClient {
    const client = createBunRedisClient(new RedisClient(this.address), { lazyConnect: true });
    // The Queue or Worker reports connection errors itself; without a listener they would be thrown.
    client.on('error', () => undefined);
    this.bullClients.push(client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.bullClients.map((c) => c.quit()));
    this.subscriber.close();
    await this.commands.quit();
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
