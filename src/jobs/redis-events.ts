import type { Logger } from 'pino';
import type { JobEvent, JobEvents } from './events.js';
import type { RedisConnections } from './redis-connections.js';

/**
 * Job events across nodes over Redis pub/sub: the worker running a job publishes its progress and
 * state changes; every API node feeds them into its own JobEvents, where waiting requests and SSE
 * streams listen. Pub/sub keeps nothing: a node that was disconnected reads the record instead.
 */
export class RedisEventBus {
  constructor(
    private readonly redis: RedisConnections,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  publish(event: JobEvent): void {
    this.redis.commands.send('PUBLISH', [this.redis.keys.events, JSON.stringify(event)]).catch((err: Error) => {
      this.log.warn({ job: event.id, err: err.message }, 'publishing a job event failed');
    });
  }

  /** Delivers every node's events to `events` (and to `observe`, e.g. to learn job durations). */
  listen(events: JobEvents, observe?: (e: JobEvent) => void): Promise<void> {
    return this.redis.subscriber.subscribe(this.redis.keys.events, (message) => {
      const event = JSON.parse(message) as JobEvent;
      observe?.(event);
      events.emit(event);
    });
  }
}
