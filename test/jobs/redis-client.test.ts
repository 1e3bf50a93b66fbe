import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisClient, RedisUnavailableError } from '../../src/jobs/redis-client.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';
import { freePort } from '../helpers/server-process.js';

describeWithRedis('RedisClient (ioredis) against a real redis-server', () => {
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

  it('stores and reads binary values byte for byte, typed-array views included', async () => {
    const client = await redis.client();
    const bytes = Buffer.from(Array.from({ length: 1024 }, (_, k) => k & 255));
    await client.send('SET', ['bin', bytes]);
    expect((await client.sendForBuffers<Buffer>('GET', ['bin'])).equals(bytes)).toBe(true);
    // A Uint8Array that is not a Buffer, viewing the middle of a larger buffer: only its bytes go out.
    const view = new Uint8Array([9, 0, 13, 10, 255, 9]).subarray(1, 5);
    await client.send('SET', ['view', view]);
    expect([...(await client.sendForBuffers<Buffer>('GET', ['view']))]).toEqual([0, 13, 10, 255]);
    expect(await client.sendForBuffers('GET', ['missing'])).toBeNull();
  });

  it('returns replies as Redis sends them: HGETALL a flat array, whatever the case of the name', async () => {
    const client = await redis.client();
    await client.send('HSET', ['h', 'a', '1', 'b', '2']);
    expect(await client.send('HGETALL', ['h'])).toEqual(['a', '1', 'b', '2']);
    expect(await client.send('hgetall', ['h'])).toEqual(['a', '1', 'b', '2']);
  });

  it('rejects with the server error and keeps going; EXEC keeps per-command errors', async () => {
    const client = await redis.client();
    await expect(client.send('NOSUCHCOMMAND')).rejects.toThrow(/unknown command/);
    await client.send('SET', ['text', 'abc']);
    const multi = client.send('MULTI');
    const queued = [client.send('INCR', ['text']), client.send('GET', ['text'])];
    const exec = await client.send<unknown[]>('EXEC');
    await multi;
    expect(await Promise.all(queued)).toEqual(['QUEUED', 'QUEUED']);
    expect(exec[0]).toBeInstanceOf(Error);
    expect(exec[1]).toBe('abc');
  });

  it('delivers published messages to subscribers, also after the connection is killed and comes back', async () => {
    const client = await redis.client();
    const subscriber = new RedisClient(redis.url);
    await subscriber.connect();
    const received: string[] = [];
    await subscriber.subscribe('news', (m) => received.push(m));
    await subscriber.subscribe('news', (m) => received.push(`again ${m}`));
    expect(await client.send('PUBLISH', ['news', 'one'])).toBe(1);
    await expect.poll(() => received).toEqual(['one', 'again one']);
    const dropped = once(subscriber.redis, 'close');
    await client.send('CLIENT', ['KILL', 'TYPE', 'pubsub']);
    await dropped;
    await expect.poll(async () => client.send('PUBLISH', ['news', 'two']), { timeout: 5000 }).toBe(1);
    await expect.poll(() => received).toEqual(['one', 'again one', 'two', 'again two']);
    subscriber.close();
  });

  it('reconnects after the server drops it; commands sent meanwhile wait and run', async () => {
    const client = new RedisClient(redis.url);
    await client.connect();
    await client.send('CLIENT', ['SETNAME', 'victim']);
    const dropped = once(client.redis, 'close');
    const killer = await redis.client();
    await killer.send('CLIENT', ['KILL', 'SKIPME', 'yes', 'TYPE', 'normal']);
    await dropped;
    expect(client.connected).toBe(false);
    expect(await client.send('PING')).toBe('PONG');
    expect(client.connected).toBe(true);
    client.close();
  });

  it('while Redis is down, commands wait up to offlineTimeoutMs, then fail as "unavailable" (HTTP 503) and are never sent', async () => {
    const own = await startRedisServer();
    const client = new RedisClient(own.url, { offlineTimeoutMs: 300 });
    await client.connect();
    const port = own.port;
    await own.stop();
    await expect.poll(() => client.connected).toBe(false);
    const started = Date.now();
    const error = await client.send('SET', ['late', 'write']).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({ statusCode: 503, detail: expect.stringMatching(/^Redis at 127\.0\.0\.1:\d+ is unreachable \(waited 300 ms\)/) });
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1500);
    // A command refused as 503 does not run later, once Redis is back (a new server on that port).
    const back = await startRedisServer(port);
    try {
      await expect.poll(() => client.connected, { timeout: 5000 }).toBe(true);
      expect(await client.send('GET', ['late'])).toBeNull();
    } finally {
      client.close();
      await back.stop();
    }
  });

  it('a command without a reply within offlineTimeoutMs (in flight as Redis went away) fails as "unavailable"', async () => {
    const own = await startRedisServer();
    const client = new RedisClient(own.url, { offlineTimeoutMs: 300 });
    await client.connect();
    const pending = client.send('BLPOP', ['never', 0]).catch((e: unknown) => e);
    const started = Date.now();
    await own.stop();
    const error = await pending;
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as RedisUnavailableError).detail).toMatch(/no reply within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
    client.close();
  });

  it('reads the password (percent-encoded) and the database number from the URL', async () => {
    const own = await startRedisServer();
    try {
      const admin = await own.client();
      await admin.send('SET', ['where', 'db0']);
      await admin.send('CONFIG', ['SET', 'requirepass', 'p@ss']);
      const client = new RedisClient(`redis://:p%40ss@127.0.0.1:${own.port}/3`);
      await client.connect();
      expect(await client.send('GET', ['where'])).toBeNull();
      await client.send('SET', ['where', 'db3']);
      expect(await client.send('CLIENT', ['INFO'])).toMatch(/ db=3 /);
      client.close();
      await expect(new RedisClient(`redis://:wrong@127.0.0.1:${own.port}`).connect()).rejects.toThrow(/WRONGPASS|invalid password/);
    } finally {
      await own.stop();
    }
  });

  it('fails clearly when nothing listens, and commands after close() fail at once', async () => {
    const port = await freePort();
    const nowhere = new RedisClient(`redis://127.0.0.1:${port}`);
    await expect(nowhere.connect()).rejects.toThrow(/ECONNREFUSED/);
    await expect(nowhere.send('PING')).rejects.toThrow('Connection is closed.');
    const client = await redis.client();
    const waiting = client.send('BLPOP', ['never', 0]);
    client.close();
    await expect(waiting).rejects.toThrow('Connection is closed.');
    await expect(client.send('PING')).rejects.toThrow('Connection is closed.');
  });
});
