import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  type?: string;
  body: Buffer | string;
  /** Milliseconds to wait before answering (timeouts). */
  delayMs?: number;
  /** Extra response headers (a redirect's `location`). */
  headers?: Record<string, string>;
}

/**
 * A real HTTP server on 127.0.0.1 serving fixed routes (matched on the path, query ignored), for URL
 * inputs. The server under test must allow it (`ALLOWED_FETCH_HOSTS=127.0.0.1`), as an operator allows a
 * LAN image host. `requests` lists the paths asked for.
 */
export async function startImageServer(routes: Record<string, Route>) {
  const sockets = new Set<import('node:net').Socket>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const route = routes[(req.url ?? '').split('?')[0]!];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const answer = () => res.writeHead(route.status ?? 200, { 'content-type': route.type ?? 'image/png', ...route.headers }).end(route.body);
    if (route.delayMs) setTimeout(answer, route.delayMs);
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What a server under test needs to fetch from these helpers (and post to the webhook receiver): the operator's allow-list. */
export const ALLOW_LOOPBACK_FETCHES = { ALLOWED_FETCH_HOSTS: '127.0.0.1' } as const;
