import { createHash } from 'node:crypto';
import type { RedisArg, RedisClient } from './redis-client.js';

/** A Lua script run by its SHA1 (EVALSHA), sent in full only when the server does not have it yet. */
export class RedisScript {
  private readonly sha: string;

  constructor(
    readonly name: string,
    private readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run<T = unknown>(client: RedisClient, keys: readonly string[], args: readonly RedisArg[]): Promise<T> {
    try {
      return await client.send('EVALSHA', [this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
      return client.send('EVAL', [this.lua, keys.length, ...keys, ...args]);
    }
  }
}

/**
 * Inserts or updates a job record (a hash of JSON-encoded fields) and keeps its indexes in step: one
 * sorted set per state (by creation time) and one of expiring temp outputs (by expiry).
 * KEYS: job, queued, running, succeeded, failed, expiring.
 * ARGV: id, "insert" | "update", bound (insert: most queued jobs, 0 for none), n, n expected
 * field/value pairs (update only: the stored JSON must match), then the field/value pairs to write.
 * Returns nil when the job is missing (update), an expectation fails, or the bound is reached (insert).
 */
export const saveJob = new RedisScript(
  'saveJob',
  `
local index = { queued = KEYS[2], running = KEYS[3], succeeded = KEYS[4], failed = KEYS[5] }
local function word(json) return string.sub(json, 2, -2) end
local id = ARGV[1]
local exists = redis.call('EXISTS', KEYS[1]) == 1
local old = nil
if ARGV[2] == 'insert' then
  if exists then return redis.error_reply('job ' .. id .. ' already exists') end
  local bound = tonumber(ARGV[3])
  if bound > 0 and redis.call('ZCARD', KEYS[2]) >= bound then return nil end
else
  if not exists then return nil end
  old = word(redis.call('HGET', KEYS[1], 'state'))
end
local expected = tonumber(ARGV[4])
for k = 5, 4 + 2 * expected, 2 do
  if redis.call('HGET', KEYS[1], ARGV[k]) ~= ARGV[k + 1] then return nil end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5 + 2 * expected))
local state = word(redis.call('HGET', KEYS[1], 'state'))
if state ~= old then
  if old then redis.call('ZREM', index[old], id) end
  redis.call('ZADD', index[state], redis.call('HGET', KEYS[1], 'createdAt'), id)
end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if expires and (state == 'succeeded' or state == 'failed') then
  redis.call('ZADD', KEYS[6], expires, id)
else
  redis.call('ZREM', KEYS[6], id)
end
if ARGV[2] == 'insert' then return 1 end
return redis.call('HGETALL', KEYS[1])
`,
);
