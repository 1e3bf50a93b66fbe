import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClient, RedisUnavailableError, parseRedisUrl } from '../../src/jobs/redis-client.js';
import { encodeCommand, RespParser, type RespValue } from '../../src/jobs/redis-resp.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { freePort } from '../helpers/server-process.js';

/** Feeds `wire` to a parser in pieces cut at `cuts` and collects every reply. */
function parseInPieces(wire: Buffer, cuts: number[], asBuffers = false): RespValue[] {
  const parser = new RespParser();
  const replies: RespValue[] = [];
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    parser.push(wire.subarray(from, to));
    from = to;
    for (let r = parser.next(asBuffers); r !== undefined; r = parser.next(asBuffers)) replies.push(r);
  }
  return replies;
}

describe('RESP protocol', () => {
  const wire = Buffer.from('+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n$1\r\na\r\n*2\r\n:1\r\n-NOSCRIPT x\r\n$0\r\n\r\n');
  const expected = ['OK', new Error('ERR bad thing'), 42, -7, 'he\r\no', null, null, [], ['a', [1, new Error('NOSCRIPT x')], '']];

  it('parses every reply type, with errors kept in place inside arrays', () => {
    expect(parseInPieces(wire, [])).toEqual(expected);
  });

  it('gives the same replies however the stream is split', () => {
    for (let cut = 1; cut < wire.length; cut++) expect(parseInPieces(wire, [cut]), `cut at ${cut}`).toEqual(expected);
    const everyByte = Array.from({ length: wire.length - 1 }, (_, k) => k + 1);
    expect(parseInPieces(wire, everyByte)).toEqual(expected);
  });

  it('returns binary bulk strings as Buffers when asked, a large one assembled from many chunks', () => {
    const blob = Buffer.alloc(300_000);
    for (let k = 0; k < blob.length; k++) blob[k] = (k * 7) & 255;
    const reply = Buffer.concat([Buffer.from(`$${blob.length}\r\n`), blob, Buffer.from('\r\n:1\r\n')]);
    const cuts = Array.from({ length: Math.floor(reply.length / 65536) }, (_, k) => (k + 1) * 65536);
    const [value, after] = parseInPieces(reply, cuts, true);
    expect(Buffer.isBuffer(value)).toBe(true);
    expect((value as Buffer).equals(blob)).toBe(true);
    expect(after).toBe(1);
  });

  it('encodes commands as arrays of bulk strings, binary arguments passed through', () => {
    const bytes = Buffer.from([0, 13, 10, 255]);
    const chunks = encodeCommand('SET', ['k€', 12, bytes]);
    expect(Buffer.concat(chunks).toString('latin1')).toBe(
      `*4\r\n$3\r\nSET\r\n$4\r\n${Buffer.from('k€').toString('latin1')}\r\n$2\r\n12\r\n$4\r\n\u0000\r\n\u00ff\r\n`,
    );
    expect(chunks).toContain(bytes);
  });

  it('reads redis:// and rediss:// URLs', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380, username: null, password: null, db: 0, tls: false });
    expect(parseRedisUrl('rediss://me:p%40ss@cache.example/3')).toEqual({ host: 'cache.example', port: 6379, username: 'me', password: 'p@ss', db: 3, tls: true });
    expect(() => parseRedisUrl('http://x')).toThrow(/not a redis:\/\/ URL/);
    expect(() => parseRedisUrl('redis://x/abc')).toThrow(/database must be a number/);
  });
});

describeWithRedis('RedisClient against a real redis-server', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.stop());

  it('pipelines commands and answers each in order', async () => {
    const client = await redis.client();
    const replies = await Promise.all(Array.from({ length: 500 }, () => client.send<number>('INCR', ['counter'])));
    expect(replies).toEqual(Array.from({ length: 500 }, (_, k) => k + 1));
  });

  it('stores and reads binary values byte for byte', async () => {
    const client = await redis.client();
    const bytes = Buffer.from(Array.from({ length: 1024 }, (_, k) => k & 255));
    await client.send('SET', ['bin', bytes]);
    expect((await client.sendForBuffers<Buffer>('GET', ['bin'])).equals(bytes)).toBe(true);
    expect(await client.sendForBuffers('GET', ['missing'])).toBeNull();
  });

  it('rejects with the server error and keeps going; EXEC keeps per-command errors', async () => {
    const client = await redis.client();
    await expect(client.send('NOSUCHCOMMAND')).rejects.toThrow(/unknown command/);
    await client.send('SET', ['text', 'abc']);
    const multi = client.send('MULTI');
    const queued = [client.send('INCR', ['text']), client.send('GET', ['text'])];
    const exec = await client.send<RespValue[]>('EXEC');
    await multi;
    expect(await Promise.all(queued)).toEqual(['QUEUED', 'QUEUED']);
    expect(exec[0]).toBeInstanceOf(Error);
    expect(exec[1]).toBe('abc');
  });

  it('delivers published messages to subscribers, also after the connection is killed and comes back', async () => {
    const client = await redis.client();
    const subscriber = RedisClient.fromUrl(redis.url, { reconnect: true });
    await subscriber.connect();
    const received: string[] = [];
    await subscriber.subscribe('news', (m) => received.push(m));
    expect(await client.send('PUBLISH', ['news', 'one'])).toBe(1);
    await expect.poll(() => received).toEqual(['one']);
    await client.send('CLIENT', ['KILL', 'TYPE', 'pubsub']);
    await expect.poll(async () => client.send('PUBLISH', ['news', 'two']), { timeout: 5000 }).toBe(1);
    await expect.poll(() => received).toEqual(['one', 'two']);
    subscriber.close();
  });

  it('reconnects after the server drops it; commands sent meanwhile wait and run', async () => {
    const client = RedisClient.fromUrl(redis.url, { reconnect: true });
    await client.connect();
    await client.send('CLIENT', ['SETNAME', 'victim']);
    const killer = await redis.client();
    await killer.send('CLIENT', ['KILL', 'SKIPME', 'yes', 'TYPE', 'normal']);
    await expect.poll(() => client.connected).toBe(false);
    expect(await client.send('PING')).toBe('PONG');
    client.close();
  });

  it('while Redis is down, commands wait up to offlineTimeoutMs and then fail as "unavailable" (HTTP 503)', async () => {
    const own = await startRedisServer();
    const client = RedisClient.fromUrl(own.url, { reconnect: true, offlineTimeoutMs: 300 });
    await client.connect();
    await own.stop();
    await expect.poll(() => client.connected).toBe(false);
    const started = Date.now();
    const error = await client.send('PING').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({ statusCode: 503, detail: expect.stringMatching(/^Redis at 127\.0\.0\.1:\d+ is unreachable/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    client.close();
  });

  it('fails clearly when nothing listens, and commands after close() fail at once', async () => {
    const port = await freePort();
    const nowhere = RedisClient.fromUrl(`redis://127.0.0.1:${port}`);
    await expect(nowhere.connect()).rejects.toThrow(/ECONNREFUSED/);
    const client = await redis.client();
    client.close();
    await expect(client.send('PING')).rejects.toThrow('Connection closed');
  });
});
