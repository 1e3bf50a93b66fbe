import { Redis, type RedisOptions } from 'ioredis';
import { ClientError } from '../domain/client-error.js';

/** A command that waited in vain for Redis to come back: the request answers 503 (where Redis is, is in the log). */
export class RedisUnavailableError extends ClientError {
  constructor(readonly detail: string) {
    super(503, 'the shared job queue (Redis) is unreachable; retry later');
  }
}

export type RedisArg = string | number | Buffer | Uint8Array;

/** How long a command waits for Redis (to come back, then to answer) before the request answers 503. */
export const OFFLINE_TIMEOUT_MS = 10_000;

/** Reconnect delays: 50 ms doubling up to 2 s, for as long as it takes. */
export const reconnectBackoff = (times: number): number => Math.min(2000, 50 * 2 ** (times - 1));

export interface RedisClientOptions {
  /** How long a command may wait for a connection, and then for its reply, before it fails with 503. */
  offlineTimeoutMs?: number;
  /** Connection errors (each outage, each failed reconnect); the client reconnects by itself. */
  onError?: (error: Error) => void;
}

/**
 * One ioredis connection with the behaviour the job system relies on: commands issued while Redis is
 * away wait for the reconnection up to `offlineTimeoutMs` and then fail with RedisUnavailableError,
 * never to be sent later (ioredis' offline queue is off: a command refused as 503 must not run once
 * Redis is back). Commands already sent when the connection drops are sent again after the
 * reconnection (ioredis' default), and fail the same way when no reply comes within `offlineTimeoutMs`.
 * Replies come as Redis sends them (`send` names are upper-cased, so ioredis' reply transformers,
 * keyed by lower-case names, leave HGETALL a flat array).
 */
export class RedisClient {
  readonly redis: Redis;
  private readonly offlineTimeoutMs: number;
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  /** Settles at the next 'ready' or 'end' (or close()), shared by every command waiting meanwhile. */
  private waiting: { next: Promise<void>; settle: () => void } | null = null;
  private closed = false;

  constructor(url: string, options: RedisClientOptions = {}) {
    this.offlineTimeoutMs = options.offlineTimeoutMs ?? OFFLINE_TIMEOUT_MS;
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: this.offlineTimeoutMs,
      maxRetriesPerRequest: null,
      retryStrategy: reconnectBackoff,
    } satisfies RedisOptions);
    const onError = options.onError ?? (() => undefined);
    this.redis.on('error', onError);
    this.redis.on('message', (channel: string, message: string) => {
      for (const listener of this.channels.get(channel) ?? []) {
        // A listener's exception (a malformed message) must not reach ioredis' parser.
        try {
          listener(message);
        } catch (err) {
          onError(err as Error);
        }
      }
    });
  }

  get connected(): boolean {
    return !this.closed && this.redis.status === 'ready';
  }

  /** Connects (AUTH, SELECT and the ready check done). A first connection that fails closes the client. */
  async connect(): Promise<void> {
    if (this.connected) return;
    let cause: Error | undefined;
    const remember = (err: Error) => (cause ??= err);
    this.redis.on('error', remember);
    try {
      await this.redis.connect();
    } catch (err) {
      this.close();
      throw cause ?? err;
    } finally {
      this.redis.off('error', remember);
    }
  }

  /** Runs a command; bulk-string replies as text. */
  send<T = any>(command: string, args: readonly RedisArg[] = []): Promise<T> {
    return this.run(() => this.redis.call(command.toUpperCase(), ...args.map(wire)) as Promise<T>);
  }

  /** Runs a command; bulk-string replies as Buffers (binary values). */
  sendForBuffers<T = any>(command: string, args: readonly RedisArg[] = []): Promise<T> {
    return this.run(() => this.redis.callBuffer(command.toUpperCase(), ...args.map(wire)) as Promise<T>);
  }

  /** Calls `listener` with each message published on `channel`; ioredis subscribes again after a reconnect. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    const listeners = this.channels.get(channel);
    if (listeners) {
      listeners.add(listener);
      return;
    }
    this.channels.set(channel, new Set([listener]));
    try {
      await this.run(() => this.redis.subscribe(channel));
    } catch (err) {
      this.channels.delete(channel);
      throw err;
    }
  }

  /** Closes at once; commands in flight fail with "Connection is closed.". */
  close(): void {
    this.closed = true;
    this.waiting?.settle();
    this.redis.disconnect();
  }

  /** Lets the commands already sent finish, then closes. */
  async quit(): Promise<void> {
    if (this.connected) await this.redis.quit().catch(() => undefined);
    this.close();
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.offlineTimeoutMs;
    for (;;) {
      if (this.closed || this.redis.status === 'end') throw new Error('Connection is closed.');
      if (this.redis.status === 'wait') throw new Error('Redis: connect() first');
      if (this.redis.status !== 'ready') {
        if (!(await this.readyBefore(deadline))) throw this.unavailable(`waited ${this.offlineTimeoutMs} ms`);
        continue;
      }
      try {
        return await command();
      } catch (err) {
        const message = (err as Error).message;
        if (message === 'Command timed out') throw this.unavailable(`no reply within ${this.offlineTimeoutMs} ms`);
        // The socket closed before ioredis saw it (status still "ready"): wait for the reconnection like any other command.
        if (!message.startsWith("Stream isn't writeable")) throw err;
        if (Date.now() >= deadline) throw this.unavailable(`waited ${this.offlineTimeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /** Whether the connection came back (or ended) before `deadline`. */
  private readyBefore(deadline: number): Promise<boolean> {
    if (!this.waiting) {
      let wake!: () => void;
      const next = new Promise<void>((resolve) => (wake = resolve));
      const settle = () => {
        this.redis.off('ready', settle).off('end', settle);
        this.waiting = null;
        wake();
      };
      this.redis.on('ready', settle).on('end', settle);
      this.waiting = { next, settle };
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false)));
    return Promise.race([this.waiting.next.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  private unavailable(why: string): RedisUnavailableError {
    const { host, port } = this.redis.options;
    return new RedisUnavailableError(`Redis at ${host}:${port} is unreachable (${why})`);
  }
}

/** ioredis writes Buffers as bytes but any other typed array as text: pass views of the same memory. */
function wire(arg: RedisArg): string | number | Buffer {
  return typeof arg === 'object' && !Buffer.isBuffer(arg) ? Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength) : arg;
}
