import type { RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import type { BlobStore } from './store.js';

/**
 * Input images and output PNGs in Redis, so nodes on different machines need no shared disk. Each
 * blob may carry a TTL (inputs of queued jobs, temp outputs); Redis drops it when that runs out.
 */
export class RedisBlobStore implements BlobStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async put(key: string, data: Uint8Array, ttlMs?: number): Promise<void> {
    const ttl = ttlMs !== undefined && ttlMs > 0 ? ['PX', Math.ceil(ttlMs)] : [];
    await this.redis.send('SET', [this.keys.blob(key), data, ...ttl]);
  }

  get(key: string): Promise<Buffer | null> {
    return this.redis.sendForBuffers('GET', [this.keys.blob(key)]);
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0)
      await this.redis.send(
        'DEL',
        keys.map((k) => this.keys.blob(k)),
      );
  }
}
