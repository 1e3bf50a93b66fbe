import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../domain/client-error.js';
import { scrubPaths } from '../util/scrub-paths.js';

/** What the client is told for Fastify's own errors (bad JSON, wrong content type, ...), by error code. */
const FRAMEWORK_MESSAGES: Record<string, (err: FastifyError) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'content-type: send the body as application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'body: larger than this server accepts',
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'body: not valid JSON (or it holds a forbidden key: __proto__, constructor.prototype)',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'body: empty; send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'content-length: does not match the body',
  FST_ERR_BAD_URL: () => 'url: not a valid URL encoding',
  FST_ERR_MAX_PARAM_LENGTH: () => 'url: a path parameter is too long',
  FST_ERR_ASYNC_CONSTRAINT: () => 'url: the request does not match a route',
};

/** The contract's error body for any error a Fastify app raises; paths on this machine never leave it. */
export function errorBody(error: FastifyError | Error, status: number, roots: readonly string[]): { status: 'error'; message: string } {
  const code = (error as FastifyError).code;
  if (error instanceof ClientError) return { status: 'error', message: scrubPaths(error.message, roots) };
  if (status >= 500) return { status: 'error', message: 'internal server error; see the server log' };
  if (code && FRAMEWORK_MESSAGES[code]) return { status: 'error', message: FRAMEWORK_MESSAGES[code](error as FastifyError) };
  // JSON with a "__proto__" or "constructor.prototype" key (secure-json-parse refuses it).
  if (error instanceof SyntaxError) return { status: 'error', message: 'body: not valid JSON (or it holds a forbidden key: __proto__, constructor.prototype)' };
  return { status: 'error', message: `request: ${scrubPaths(error.message, roots)}` };
}

/** Status to answer an error with: ClientError's own, Fastify's 4xx, else 500. */
export function statusOf(error: Error & { statusCode?: number }): number {
  if (error instanceof ClientError) return error.statusCode;
  const status = error.statusCode;
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : error instanceof SyntaxError ? 400 : 500;
}

/** Fastify's `frameworkErrors` option: a bad URL encoding answers in the contract's shape too. */
export function frameworkErrors(roots: readonly string[]) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
    const status = statusOf(error);
    void reply.code(status).send(errorBody(error, status, roots));
  };
}

/**
 * Fastify's `clientErrorHandler`: requests the HTTP parser refuses (malformed, too slow, headers too
 * large) get the contract's shape before the socket is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request: not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers: larger than this server accepts']
        : [400, 'request: not valid HTTP'];
  const body = JSON.stringify({ status: 'error', message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** A 404 for routes that do not exist, in the contract's shape. */
export function installNotFound(app: FastifyInstance, hint = ''): void {
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ status: 'error', message: `no route for ${request.method} ${request.url.split('?')[0]}${hint}` });
  });
}
