import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BaseModelFiles, HintReply, HintRequest, LoadedReport, WorkerControl } from '../domain/index.js';
import type { RedisConnections } from './redis-connections.js';
import { RedisBlobStore } from './redis-blob-store.js';
import { decodeRaw, encodeRaw } from './spec-codec.js';

/** Management commands sent to worker nodes; images travel as short-lived blobs, not in the message. */
type Command =
  | { op: 'preload'; model: BaseModelFiles; controlnets: string[] }
  | { op: 'loaded' }
  | { op: 'release'; prefix: string }
  | { op: 'restart' }
  | { op: 'hint'; type: string; options: Omit<HintRequest['options'], 'mask'>; image: string; mask: string | null };

interface Request {
  requestId: string;
  replyTo: string;
  command: Command;
}

interface Reply {
  requestId: string;
  node: string;
  value: unknown;
}

type RemoteHintReply = { ok: true; image: string; minusOneMask: string | null } | Extract<HintReply, { ok: false }>;

/** How long each command may take on the workers (restart waits for the running job). */
const TIMEOUT_MS: Record<Command['op'], number> = { preload: 300_000, loaded: 15_000, release: 15_000, restart: 600_000, hint: 120_000 };
const BLOB_TTL_MS = 300_000;

/**
 * WorkerControl for a node whose inference workers are other processes (Redis mode): each command is
 * published to every worker node, which answers on this node's reply channel. PUBLISH says how many
 * worker nodes listen, so the answer is complete once that many replies are in (or the time is up).
 * A hint preview needs one worker: the first to claim the request runs it.
 */
export class RemoteWorkers implements WorkerControl {
  private readonly node = randomUUID();
  private readonly waiting = new Map<string, (reply: Reply) => void>();
  private readonly blobs: RedisBlobStore;

  constructor(
    private readonly redis: RedisConnections,
    private readonly log: Pick<Logger, 'warn'>,
  ) {
    this.blobs = new RedisBlobStore(redis.commands, redis.keys);
  }

  /** Starts receiving replies; call once before the first command. */
  listen(): Promise<void> {
    return this.redis.subscriber.subscribe(this.redis.keys.controlReplies(this.node), (message) => {
      const reply = JSON.parse(message) as Reply;
      this.waiting.get(reply.requestId)?.(reply);
    });
  }

  async preload(model: BaseModelFiles, controlnets: string[]): Promise<string | null> {
    const { replies, missing } = await this.ask({ op: 'preload', model, controlnets });
    const failure = replies.find((r) => r.value !== null);
    if (failure) return `${failure.value} (on worker node ${failure.node})`;
    return missing > 0 ? `${missing} worker node(s) did not answer within ${TIMEOUT_MS.preload / 1000} s` : null;
  }

  async loaded(): Promise<LoadedReport[]> {
    const { replies } = await this.ask({ op: 'loaded' });
    const seen = new Map<string, LoadedReport>();
    for (const r of replies) for (const s of (r.value as LoadedReport[] | null) ?? []) seen.set(`${s.key ?? s.path} ${s.provider}`, s);
    return [...seen.values()];
  }

  async release(prefix = ''): Promise<number> {
    const { replies } = await this.ask({ op: 'release', prefix });
    return replies.reduce((sum, r) => sum + Number(r.value ?? 0), 0);
  }

  async restart(): Promise<void> {
    const { missing } = await this.ask({ op: 'restart' });
    if (missing > 0) this.log.warn({ missing }, 'restart_server: some worker nodes did not confirm the restart in time');
  }

  async hint(request: HintRequest): Promise<HintReply> {
    const id = randomUUID();
    const image = `hints/${id}/image`;
    const mask = request.options.mask ? `hints/${id}/mask` : null;
    await this.blobs.put(image, encodeRaw(request.image), BLOB_TTL_MS);
    if (mask) await this.blobs.put(mask, encodeRaw(request.options.mask!), BLOB_TTL_MS);
    const { mask: _mask, ...options } = request.options;
    try {
      const { replies } = await this.ask({ op: 'hint', type: request.type, options, image, mask }, true);
      const reply = replies[0]?.value as RemoteHintReply | undefined;
      if (!reply) return { ok: false, message: 'no worker node answered the hint request', clientError: false };
      if (!reply.ok) return reply;
      const [out, minusOne] = await Promise.all([this.blobs.get(reply.image), reply.minusOneMask ? this.blobs.get(reply.minusOneMask) : null]);
      if (!out) return { ok: false, message: 'the hint result expired before it was read', clientError: false };
      return { ok: true, image: decodeRaw(out), ...(minusOne ? { minusOneMask: new Uint8Array(minusOne) } : {}) };
    } finally {
      await this.blobs.delete([image, ...(mask ? [mask] : []), `hints/${id}/out`, `hints/${id}/minus-one`]);
    }
  }

  /** Publishes a command and collects the replies (one when `one`). */
  private async ask(command: Command, one = false): Promise<{ replies: Reply[]; missing: number }> {
    const requestId = randomUUID();
    const replies: Reply[] = [];
    let expected = Infinity;
    let finish!: () => void;
    const complete = new Promise<void>((resolve) => (finish = resolve));
    this.waiting.set(requestId, (reply) => {
      replies.push(reply);
      if (replies.length >= expected) finish();
    });
    const timer = setTimeout(finish, TIMEOUT_MS[command.op]);
    try {
      const request: Request = { requestId, replyTo: this.redis.keys.controlReplies(this.node), command };
      const listeners = await this.redis.commands.send<number>('PUBLISH', [this.redis.keys.control, JSON.stringify(request)]);
      expected = one ? Math.min(1, listeners) : listeners;
      if (replies.length >= expected) finish();
      await complete;
      return { replies, missing: Math.max(0, expected - replies.length) };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(requestId);
    }
  }
}

/**
 * The worker side: runs the commands other nodes publish on this node's own inference workers and
 * publishes the answers. `local` is this node's WorkerControl (its threads, restart paused).
 */
export async function serveWorkerCommands(redis: RedisConnections, nodeName: string, local: WorkerControl, log: Pick<Logger, 'error'>): Promise<void> {
  const blobs = new RedisBlobStore(redis.commands, redis.keys);
  const run = async (command: Command): Promise<unknown> => {
    switch (command.op) {
      case 'preload':
        return local.preload(command.model, command.controlnets);
      case 'loaded':
        return local.loaded();
      case 'release':
        return local.release(command.prefix);
      case 'restart':
        await local.restart();
        return null;
      case 'hint': {
        const [image, mask] = await Promise.all([blobs.get(command.image), command.mask ? blobs.get(command.mask) : null]);
        if (!image) return { ok: false, message: 'the hint request expired before a worker read it', clientError: false };
        const reply = await local.hint({
          type: command.type,
          image: decodeRaw(image),
          options: { ...command.options, ...(mask ? { mask: decodeRaw(mask) } : {}) },
        });
        if (!reply.ok) return reply;
        const base = command.image.replace(/\/image$/, '');
        await blobs.put(`${base}/out`, encodeRaw(reply.image), BLOB_TTL_MS);
        if (reply.minusOneMask) await blobs.put(`${base}/minus-one`, reply.minusOneMask, BLOB_TTL_MS);
        return { ok: true, image: `${base}/out`, minusOneMask: reply.minusOneMask ? `${base}/minus-one` : null } satisfies RemoteHintReply;
      }
    }
  };
  await redis.subscriber.subscribe(redis.keys.control, (message) => {
    const { requestId, replyTo, command } = JSON.parse(message) as Request;
    void (async () => {
      // One worker runs a hint: whoever sets the claim first.
      if (command.op === 'hint') {
        const claimed = await redis.commands.send('SET', [redis.keys.claim(requestId), nodeName, 'NX', 'PX', BLOB_TTL_MS]);
        if (claimed === null) return;
      }
      let value: unknown;
      try {
        value = await run(command);
      } catch (err) {
        log.error({ err, op: command.op }, 'a management command from another node failed');
        value = command.op === 'hint' ? { ok: false, message: (err as Error).message, clientError: false } : null;
      }
      const reply: Reply = { requestId, node: nodeName, value };
      await redis.commands.send('PUBLISH', [replyTo, JSON.stringify(reply)]);
    })().catch((err) => log.error({ err }, 'answering a management command failed'));
  });
}
