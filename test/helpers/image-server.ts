import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  type?: string;
  body: Buffer | string;
  /** Milliseconds to wait before answering (timeouts). */
  delayMs?: number;
}

/** A real HTTP server on 127.0.0.1 serving fixed routes, for URL inputs. */
export async function startImageServer(routes: Record<string, Route>) {
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const answer = () => res.writeHead(route.status ?? 200, { 'content-type': route.type ?? 'image/png' }).end(route.body);
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
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
