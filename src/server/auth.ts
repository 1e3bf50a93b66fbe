import type { FastifyRequest } from 'fastify';
import { ApiError } from '../util/errors.js';
import type { ServerConfig } from '../config.js';

/** The hosted contract authenticates with a `key` in the JSON body. */
export function checkKey(config: ServerConfig, key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new ApiError(401, 'key: missing API key');
  if (!config.apiKeys.has(key)) throw new ApiError(401, 'key: invalid API key');
}

/** For GET endpoints (SSE, metrics), where there is no body: `?key=`, `x-api-key`, or a bearer token. */
export function keyFromRequest(request: FastifyRequest): unknown {
  const query = request.query as Record<string, unknown> | undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return query?.key ?? request.headers['x-api-key'] ?? bearer;
}
