import dns from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { refusal, type OutboundPolicy } from './address-policy.js';

/** A request the server makes on its own behalf (an image URL, a webhook), and how far it may go. */
export interface GuardedRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  policy: OutboundPolicy;
  /** For the whole exchange, redirects included. */
  timeoutMs: number;
  /** A longer body fails the request. */
  maxBytes: number;
  /** Redirects followed (each hop checked again); 0 returns the 3xx as it is. Only GETs follow redirects. */
  maxRedirects: number;
}

export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Why an outbound request did not complete. The message is for the server log, never for the caller. */
export class OutboundError extends Error {
  constructor(
    message: string,
    /** True when the policy refused it (no connection was made). */
    readonly refused = false,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export type Resolver = (hostname: string) => Promise<string[]>;

const systemResolver: Resolver = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Sends one request under `policy`: the host name is resolved once, every address it gives must be
 * allowed, and the socket connects to the address that was checked (no second lookup, so a DNS answer that
 * changes between check and connect — rebinding — cannot redirect it). Redirects are followed by hand, at
 * most `maxRedirects`, each hop checked again; a POST never follows one (and so never turns into a GET).
 */
export async function guardedFetch(url: string, options: GuardedRequest, resolve: Resolver = systemResolver): Promise<GuardedResponse> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let current = parseUrl(url);
  for (let hop = 0; ; hop++) {
    const response = await once(current, options, deadline, resolve);
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && location && options.method === 'GET' && options.maxRedirects > 0) {
      if (hop >= options.maxRedirects) throw new OutboundError(`more than ${options.maxRedirects} redirects`);
      current = parseUrl(new URL(location, current).toString());
      continue;
    }
    return response;
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OutboundError('not a valid URL', true);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundError(`scheme ${url.protocol} is not allowed`, true);
  return url;
}

/** Resolves and checks the URL's host; returns the address to connect to. */
async function checkedAddress(url: URL, policy: OutboundPolicy, resolve: Resolver): Promise<string> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let addresses: string[];
  if (ipaddr.isValid(hostname)) addresses = [hostname];
  else {
    try {
      addresses = await resolve(hostname);
    } catch (err) {
      throw new OutboundError(`could not resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (addresses.length === 0) throw new OutboundError(`${hostname} has no address`);
  // Every address must pass: a name that resolves to a public and a private address is not trusted.
  for (const address of addresses) {
    const why = refusal(hostname, address, port, policy);
    if (why) throw new OutboundError(`refused ${hostname}: ${why}`, true);
  }
  return addresses[0]!;
}

async function once(url: URL, options: GuardedRequest, signal: AbortSignal, resolve: Resolver): Promise<GuardedResponse> {
  const address = await checkedAddress(url, options.policy, resolve);
  const family = ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4;
  // The socket asks this for the host's address: it always gets the one that was checked.
  const lookup = ((_host: string, opts: { all?: boolean } | undefined, callback: (...args: unknown[]) => void) => {
    if (opts?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
  const client = url.protocol === 'https:' ? https : http;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  return new Promise<GuardedResponse>((resolvePromise, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(
        signal.aborted ? new OutboundError(`timed out after ${options.timeoutMs} ms`) : err instanceof OutboundError ? err : new OutboundError(describe(err)),
      );
    };
    const req = client.request(
      url,
      {
        method: options.method,
        headers: { ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        lookup,
        agent: false,
        signal,
      },
      (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (declared > options.maxBytes) {
          fail(new OutboundError(`the answer is ${declared} bytes, over the limit of ${options.maxBytes}`));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > options.maxBytes) {
            fail(new OutboundError(`the answer is over the limit of ${options.maxBytes} bytes`));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, total) });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new OutboundError('the connection closed before the answer ended')));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}${err.message && !err.message.includes(code) ? `: ${err.message}` : ''}` : err.message;
}
