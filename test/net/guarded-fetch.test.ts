import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedHosts, STRICT_POLICY, type OutboundPolicy } from '../../src/net/address-policy.js';
import { guardedFetch, OutboundError, type GuardedRequest } from '../../src/net/guarded-fetch.js';
import { startImageServer } from '../helpers/image-server.js';

let server: Awaited<ReturnType<typeof startImageServer>>;
const allowLoopback: OutboundPolicy = { ...parseAllowedHosts('127.0.0.1/32'), allowedPorts: [] };
const get = (policy: OutboundPolicy = allowLoopback): GuardedRequest => ({ method: 'GET', policy, timeoutMs: 2000, maxBytes: 1000, maxRedirects: 3 });

beforeAll(async () => {
  const port = () => server.port;
  server = await startImageServer({
    '/ok': { body: 'fine', type: 'text/plain' },
    '/to-ok': { status: 302, body: '', headers: { location: '/ok' } },
    '/to-other-loopback': {
      status: 302,
      body: '',
      get headers() {
        return { location: `http://127.0.0.2:${port()}/ok` };
      },
    },
    '/loop': { status: 301, body: '', headers: { location: '/loop' } },
    '/hook': { status: 302, body: '', headers: { location: '/landing' } },
    '/landing': { body: 'landed', type: 'text/plain' },
  });
});
afterAll(() => server.close());

async function failure(p: Promise<unknown>): Promise<OutboundError> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
}

describe('guardedFetch', () => {
  it('refuses before connecting when the policy says no', async () => {
    const before = server.requests.length;
    const err = await failure(guardedFetch(server.url('/ok'), get(STRICT_POLICY)));
    expect(err.refused).toBe(true);
    expect(err.message).toBe('refused 127.0.0.1: 127.0.0.1 is a loopback address');
    expect(server.requests.length).toBe(before);
    expect((await failure(guardedFetch('ftp://127.0.0.1/x', get()))).message).toMatch(/scheme ftp: is not allowed/);
  });

  it('follows a redirect to an allowed address, and checks every hop again', async () => {
    const ok = await guardedFetch(server.url('/to-ok'), get());
    expect([ok.status, ok.body.toString()]).toEqual([200, 'fine']);
    const err = await failure(guardedFetch(server.url('/to-other-loopback'), get()));
    expect(err.message).toBe('refused 127.0.0.2: 127.0.0.2 is a loopback address');
    expect((await failure(guardedFetch(server.url('/loop'), get()))).message).toBe('more than 3 redirects');
  });

  it('never turns a POST into a GET: a 3xx comes back as it is', async () => {
    const before = server.requests.length;
    const res = await guardedFetch(server.url('/hook'), { ...get(), method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(302);
    expect(server.requests.slice(before)).toEqual(['POST /hook']);
  });

  it('resolves a name once and connects to the address it checked (DNS rebinding)', async () => {
    const answers = [['127.0.0.1'], ['10.9.9.9']];
    const asked: string[] = [];
    const resolve = async (name: string) => {
      asked.push(name);
      return answers.shift() ?? ['10.9.9.9'];
    };
    const res = await guardedFetch(`http://rebind.test:${server.port}/ok`, get(), resolve);
    expect(res.body.toString()).toBe('fine');
    expect(asked).toEqual(['rebind.test']);
    // A name with one private answer among public ones is refused whole.
    const mixed = await failure(guardedFetch('http://mixed.test/ok', get(STRICT_POLICY), async () => ['93.184.216.34', '10.0.0.1']));
    expect(mixed.message).toBe('refused mixed.test: 10.0.0.1 is a private address');
  });

  it('stops at the size limit and the deadline', async () => {
    const big = await startImageServer({ '/big': { body: Buffer.alloc(5000), type: 'application/octet-stream' }, '/slow': { body: 'x', delayMs: 1500 } });
    try {
      expect((await failure(guardedFetch(big.url('/big'), get()))).message).toMatch(/over the limit of 1000/);
      expect((await failure(guardedFetch(big.url('/slow'), { ...get(), timeoutMs: 300 }))).message).toBe('timed out after 300 ms');
    } finally {
      await big.close();
    }
  });
});
