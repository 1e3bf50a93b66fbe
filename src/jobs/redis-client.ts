import net from 'node:net';
import tls from 'node:tls';
import { ApiError } from '../util/errors.js';
import { encodeCommand, RespParser, type RedisArg, type RespValue } from './redis-resp.js';

/** A command that waited in vain for Redis to come back: the request answers 503 (where Redis is, is in the log). */
export class RedisUnavailableError extends ApiError {
  constructor(readonly detail: string) {
    super(503, 'the shared job queue (Redis) is unreachable; retry later');
  }
}

/** Where a Redis server is, from a redis:// or rediss:// URL. */
export interface RedisAddress {
  host: string;
  port: number;
  username: string | null;
  password: string | null;
  db: number;
  tls: boolean;
}

export function parseRedisUrl(url: string): RedisAddress {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`not a redis:// URL: ${url}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`redis URL: the database must be a number, got "${u.pathname.slice(1)}"`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
    db,
    tls: u.protocol === 'rediss:',
  };
}

export interface RedisClientOptions {
  /** Reconnect with backoff after an unexpected close (commands wait meanwhile); off for clients BullMQ manages. */
  reconnect?: boolean;
  /** How long a command may wait for a (re)connection before it fails. */
  offlineTimeoutMs?: number;
  connectTimeoutMs?: number;
}

interface Pending {
  resolve: (value: any) => void;
  reject: (error: Error) => void;
  buffers: boolean;
}

interface Queued extends Pending {
  chunks: Buffer[];
  since: number;
}

type State = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/**
 * A small Redis client: one connection, pipelined commands (replies come back in order), binary-safe
 * arguments and replies, pub/sub, optional reconnect. Its shape (`send`, `connected`, `onconnect`,
 * `onclose`, `duplicate`) is the "raw client" that BullMQ's adapter layer wraps (see redis-connections.ts).
 */
export class RedisClient {
  onconnect: (() => void) | null = null;
  onclose: ((error?: Error) => void) | null = null;
  onerror: ((error: Error) => void) | null = null;

  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private parser = new RespParser();
  private pending: Pending[] = [];
  private offline: Queued[] = [];
  private connecting: Promise<void> | null = null;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private offlineTimer: NodeJS.Timeout | null = null;
  /** Channel → listeners; a client with subscriptions runs no other commands (Redis' rule). */
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  constructor(
    readonly address: RedisAddress,
    private readonly options: RedisClientOptions = {},
  ) {}

  static fromUrl(url: string, options?: RedisClientOptions): RedisClient {
    return new RedisClient(parseRedisUrl(url), options);
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  /** Opens the connection (AUTH and SELECT done); resolves when commands can run. */
  connect(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.connecting) return this.connecting;
    if (this.state === 'closed') this.state = 'idle';
    this.connecting = this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** Runs a command; bulk-string replies as text. */
  send<T = any>(command: string, args: readonly RedisArg[] = []): Promise<T> {
    return this.enqueue(command, args, false);
  }

  /** Runs a command; bulk-string replies as Buffers (binary values). */
  sendForBuffers<T = any>(command: string, args: readonly RedisArg[] = []): Promise<T> {
    return this.enqueue(command, args, true);
  }

  // The three typed helpers the raw-client shape asks for.
  get(key: string): Promise<string | null> {
    return this.send('GET', [key]);
  }

  smembers(key: string): Promise<string[]> {
    return this.send('SMEMBERS', [key]);
  }

  incr(key: string): Promise<number> {
    return this.send('INCR', [key]);
  }

  /** Calls `listener` with each message published on `channel` (re-subscribed after a reconnect). */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    let listeners = this.channels.get(channel);
    if (listeners) {
      listeners.add(listener);
      return;
    }
    listeners = new Set([listener]);
    this.channels.set(channel, listeners);
    await this.send('SUBSCRIBE', [channel]);
  }

  /** A new, unconnected client for the same server with the same options. */
  async duplicate(): Promise<this> {
    return new RedisClient(this.address, this.options) as this;
  }

  /** Closes at once; commands in flight fail with "Connection closed". */
  close(): void {
    this.state = 'closed';
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    this.failAll(new Error('Connection closed'));
  }

  /** Lets the commands already sent finish, then closes. */
  async quit(): Promise<void> {
    if (this.state === 'ready') await this.send('QUIT').catch(() => undefined);
    this.close();
  }

  private enqueue(command: string, args: readonly RedisArg[], buffers: boolean): Promise<any> {
    return new Promise((resolve, reject) => {
      const chunks = encodeCommand(command, args);
      if (this.state === 'ready' && this.socket) {
        this.pending.push({ resolve, reject, buffers });
        this.write(chunks);
      } else if (this.state === 'connecting' || this.state === 'reconnecting') {
        this.offline.push({ resolve, reject, buffers, chunks, since: Date.now() });
        this.watchOffline();
      } else {
        reject(new Error('Connection closed'));
      }
    });
  }

  private write(chunks: Buffer[]) {
    const socket = this.socket!;
    if (chunks.length === 1) {
      socket.write(chunks[0]);
      return;
    }
    socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    socket.uncork();
  }

  private async open(): Promise<void> {
    const wasReconnecting = this.state === 'reconnecting';
    this.state = wasReconnecting ? 'reconnecting' : 'connecting';
    const { host, port } = this.address;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = this.address.tls ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
      const timer = setTimeout(() => s.destroy(new Error(`Redis at ${host}:${port}: connection timed out`)), this.options.connectTimeoutMs ?? 10_000);
      s.once(this.address.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    }).catch((err: Error) => {
      if (this.closedByUser()) throw new Error('Connection closed');
      if (this.options.reconnect && wasReconnecting) {
        this.scheduleReconnect();
        return null;
      }
      this.state = 'idle';
      this.failOffline(err);
      throw err;
    });
    if (!socket) return;
    if (this.closedByUser()) {
      socket.destroy();
      throw new Error('Connection closed');
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.socket = socket;
    this.parser = new RespParser();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onerror?.(err));
    socket.on('close', () => this.onSocketClosed(socket));

    // The handshake runs before anything queued while connecting.
    const handshake: Promise<unknown>[] = [];
    const direct = (command: string, args: RedisArg[]) =>
      new Promise((resolve, reject) => {
        this.pending.push({ resolve, reject, buffers: false });
        this.write(encodeCommand(command, args));
      });
    const { username, password, db } = this.address;
    if (password) handshake.push(direct('AUTH', username ? [username, password] : [password]));
    if (db) handshake.push(direct('SELECT', [db]));
    for (const channel of this.channels.keys()) handshake.push(direct('SUBSCRIBE', [channel]));
    try {
      await Promise.all(handshake);
    } catch (err) {
      this.close();
      throw err;
    }
    this.state = 'ready';
    this.attempts = 0;
    for (const q of this.offline.splice(0)) {
      this.pending.push(q);
      this.write(q.chunks);
    }
    this.onconnect?.();
  }

  /** Read through a method: close() may run while open() awaits. */
  private closedByUser(): boolean {
    return this.state === 'closed';
  }

  private onData(chunk: Buffer) {
    this.parser.push(chunk);
    for (;;) {
      const head = this.pending[0];
      let reply: RespValue | undefined;
      try {
        reply = this.parser.next(head?.buffers ?? false);
      } catch (err) {
        this.socket?.destroy(err as Error);
        return;
      }
      if (reply === undefined) return;
      if (this.channels.size > 0 && Array.isArray(reply) && reply[0] === 'message') {
        for (const listener of this.channels.get(String(reply[1])) ?? []) {
          // A listener's exception (a malformed message) must not break the connection.
          try {
            listener(String(reply[2]));
          } catch (err) {
            this.onerror?.(err as Error);
          }
        }
        continue;
      }
      this.pending.shift();
      if (!head) continue;
      if (reply instanceof Error) head.reject(reply);
      else head.resolve(reply);
    }
  }

  private onSocketClosed(socket: net.Socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    const error = new Error('Connection closed unexpectedly');
    this.failPending(error);
    if (this.state === 'closed') return;
    if (this.options.reconnect) {
      this.state = 'reconnecting';
      this.scheduleReconnect();
    } else {
      this.state = 'closed';
      this.failOffline(error);
    }
    this.onclose?.(error);
  }

  private scheduleReconnect() {
    if (this.retryTimer || this.state === 'closed') return;
    this.state = 'reconnecting';
    const delay = Math.min(2000, 50 * 2 ** this.attempts++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connecting = this.open()
        .catch(() => undefined)
        .finally(() => (this.connecting = null));
    }, delay);
    this.retryTimer.unref();
  }

  /** Commands waiting for a connection fail after offlineTimeoutMs rather than hang. */
  private watchOffline() {
    if (this.offlineTimer) return;
    const limit = this.options.offlineTimeoutMs ?? 10_000;
    this.offlineTimer = setInterval(() => {
      const now = Date.now();
      const expired = this.offline.filter((q) => now - q.since > limit);
      if (expired.length > 0) {
        this.offline = this.offline.filter((q) => now - q.since <= limit);
        const { host, port } = this.address;
        for (const q of expired) q.reject(new RedisUnavailableError(`Redis at ${host}:${port} is unreachable (waited ${limit} ms)`));
      }
      if (this.offline.length === 0) {
        clearInterval(this.offlineTimer!);
        this.offlineTimer = null;
      }
    }, Math.min(limit, 500));
    this.offlineTimer.unref();
  }

  private clearTimers() {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.offlineTimer) clearInterval(this.offlineTimer);
    this.retryTimer = null;
    this.offlineTimer = null;
  }

  private failPending(error: Error) {
    for (const p of this.pending.splice(0)) p.reject(error);
  }

  private failOffline(error: Error) {
    for (const q of this.offline.splice(0)) q.reject(error);
  }

  private failAll(error: Error) {
    this.failPending(error);
    this.failOffline(error);
  }
}
