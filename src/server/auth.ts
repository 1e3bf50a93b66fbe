import { ApiError } from '../util/errors.js';
import type { ServerConfig } from '../config.js';

/** The hosted contract authenticates with a `key` in the JSON body. */
export function checkKey(config: ServerConfig, key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new ApiError(401, 'key: missing API key');
  if (!config.apiKeys.has(key)) throw new ApiError(401, 'key: invalid API key');
}
