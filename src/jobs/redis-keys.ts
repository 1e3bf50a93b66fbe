import type { JobState } from './record.js';

/**
 * Every Redis key and channel the server uses, under one prefix (REDIS_PREFIX), so several
 * deployments can share a Redis and an operator can find (or delete) everything of one.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  /** Sorted set of the job ids in one state, by creation time. */
  state(state: JobState): string {
    return `${this.prefix}:jobs:${state}`;
  }

  /** Finished jobs with temp outputs, by expiry time. */
  get expiring(): string {
    return `${this.prefix}:jobs:expiring`;
  }

  blob(key: string): string {
    return `${this.prefix}:blob:${key}`;
  }

  /** Pub/sub: job progress and state changes, for waiting requests and SSE streams on every API node. */
  get events(): string {
    return `${this.prefix}:events`;
  }

  /** Pub/sub: management commands to every worker node. */
  get control(): string {
    return `${this.prefix}:control`;
  }

  /** Pub/sub: worker nodes' answers to one requesting node. */
  controlReplies(node: string): string {
    return `${this.prefix}:control-replies:${node}`;
  }

  /** A one-worker command (a hint preview) is run by whichever worker claims it first. */
  claim(requestId: string): string {
    return `${this.prefix}:claim:${requestId}`;
  }

  /** BullMQ's own keys live under this prefix. */
  get bullPrefix(): string {
    return `${this.prefix}:bull`;
  }
}

export const GENERATION_QUEUE = 'generations';
