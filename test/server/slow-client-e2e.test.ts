import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { API_KEY } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';

let server: Awaited<ReturnType<typeof startServerProcess>>;

beforeAll(async () => {
  server = await startServerProcess({
    API_KEYS: API_KEY,
    HEADERS_TIMEOUT_MS: '800',
    REQUEST_TIMEOUT_MS: '1500',
    KEEP_ALIVE_TIMEOUT_MS: '500',
    IDLE_TIMEOUT_MS: '2000',
  });
}, 90_000);
afterAll(() => server?.kill());

/** Opens a raw socket, writes `first`, then `drip` every `everyMs`; resolves with what came back and when the server closed it. */
function slowClient(first: string, drip: string, everyMs: number, giveUpMs = 10_000) {
  return new Promise<{ closedAfterMs: number; answer: string }>((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    const timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`still open after ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('connect', () => socket.write(first));
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
  });
}

describe('slow clients are cut off (real server process)', () => {
  it('a body sent one byte at a time is closed at REQUEST_TIMEOUT_MS with a 408 in the contract shape', async () => {
    const head = `POST /api/v1/enterprise/system_details HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
    const { closedAfterMs, answer } = await slowClient(head, ' ', 200);
    expect(closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(closedAfterMs).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ status: 'error', message: 'request: not received in time' });
  });

  it('headers that never end are closed at HEADERS_TIMEOUT_MS', async () => {
    const { closedAfterMs, answer } = await slowClient('GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 100);
    expect(closedAfterMs).toBeLessThan(4000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle kept-alive connection is closed; a malformed request answers 400 in the contract shape', async () => {
    const idle = await slowClient('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '', 60_000);
    expect(idle.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.closedAfterMs).toBeLessThan(3000);
    const garbage = await slowClient('THIS IS NOT HTTP\r\n\r\n', '', 60_000);
    expect(garbage.answer).toMatch(/^HTTP\/1\.1 400/);
    expect(garbage.answer).toContain('{"status":"error","message":"request: not valid HTTP"}');
  });

  it('still answers normal requests, and SSE streams (long responses, not slow requests) work under these timeouts', async () => {
    const job = await server.post('/api/v1/enterprise/controlnet', {
      key: API_KEY,
      model_id: 'tiny-sd15',
      controlnet_model: 'canny',
      auto_hint: 'no',
      width: 64,
      height: 64,
      num_inference_steps: 1,
      instant_response: 'yes',
      control_image: `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`,
    });
    expect(job.json.status).toBe('processing');
    const res = await fetch(`${server.base}/api/v1/enterprise/jobs/${job.json.id}/events?key=${API_KEY}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/event: done/);
  });
});
