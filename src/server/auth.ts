import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ClientError } from '../domain/client-error.js';
import type { ServerConfig } from '../config.js';

/** Who sent a request: the tenant its jobs belong to, and whether it may change the server. */
export interface Caller {
  /** A fingerprint of the key (never the key): jobs carry it as their owner. */
  tenant: string;
  admin: boolean;
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * The tenant of a key: SHA-256 of a label and the key, 128 bits in hex. Stored in job records instead
 * of the key, so a copy of the database does not hand out credentials.
 */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update('controlnet-server tenant\0').update(key).digest('hex').slice(0, 32);
}

/** Whether `key` is in `keys`, comparing fixed-size digests in constant time and never stopping early. */
function matches(keys: ReadonlySet<string>, key: string): boolean {
  const wanted = digest(key);
  let found = false;
  for (const k of keys) found = timingSafeEqual(digest(k), wanted) || found;
  return found;
}

/**
 * The hosted contract authenticates with a `key` in the JSON body. Client keys (API_KEYS) and admin
 * keys (ADMIN_API_KEYS) are both accepted; the caller says which it was.
 */
export function checkKey(config: ServerConfig, key: unknown): Caller {
  if (typeof key !== 'string' || key.length === 0) throw new ClientError(401, 'key: missing API key');
  const admin = matches(config.adminApiKeys, key);
  if (!admin && !matches(config.apiKeys, key)) throw new ClientError(401, 'key: invalid API key');
  return { tenant: keyFingerprint(key), admin };
}

/** For the endpoints that change the server: an admin key, or 403 saying how to get one. */
export function checkAdminKey(config: ServerConfig, key: unknown, endpoint: string): Caller {
  const caller = checkKey(config, key);
  if (caller.admin) return caller;
  throw new ClientError(
    403,
    config.adminApiKeys.size === 0
      ? `key: ${endpoint} needs an admin key and none is configured; set ADMIN_API_KEYS on the server`
      : `key: ${endpoint} needs an admin key (ADMIN_API_KEYS); this key may generate, fetch, upload and list`,
  );
}

/** Whether a caller may see a job: its owner, or an admin (admins read every job). */
export function mayRead(caller: Caller, owner: string | undefined): boolean {
  return caller.admin || (owner !== undefined && owner === caller.tenant);
}

/** For GET endpoints (SSE, metrics), where there is no body: `?key=`, `x-api-key`, or a bearer token. */
export function keyFromRequest(request: FastifyRequest): unknown {
  const query = request.query as Record<string, unknown> | undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return query?.key ?? request.headers['x-api-key'] ?? bearer;
}
