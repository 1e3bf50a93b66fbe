import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config.js';
import { ClientError } from '../domain/client-error.js';
import { checkKey, keyFromRequest } from './auth.js';

/** The API routes (the contract's and /controlnet); health, metrics and image files are never limited. */
const LIMITED = /^\/(api\/|controlnet)/;

/** Whose budget a request spends: its key's tenant, or its address when it has no valid key. */
function budgetOf(config: ServerConfig, request: FastifyRequest): string {
  const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
  try {
    return `key:${checkKey(config, body.key ?? keyFromRequest(request)).tenant}`;
  } catch {
    return `ip:${request.ip}`;
  }
}

/**
 * RATE_LIMIT_PER_MIN requests a minute per API key (per address for requests without a valid key), on
 * every API route; past it, 429 in the contract's shape with Retry-After. Off when 0 (the default).
 * Counted in this process: behind a load balancer each API node counts its own.
 */
export function registerRateLimit(app: FastifyInstance, config: ServerConfig): void {
  if (config.rateLimitPerMin <= 0) return;
  // Registered before the routes (it hooks each route as it is added).
  void app.register(rateLimit, {
    global: true,
    // After the body is parsed: the key is in it.
    hook: 'preHandler',
    max: config.rateLimitPerMin,
    timeWindow: 60_000,
    keyGenerator: (request) => budgetOf(config, request),
    allowList: (request) => !LIMITED.test(request.url),
    errorResponseBuilder: (_request, context) =>
      new ClientError(context.statusCode, `key: more than ${context.max} requests a minute with this key (RATE_LIMIT_PER_MIN); retry in ${context.after}`),
  });
}
