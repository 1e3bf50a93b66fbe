import type { ServerConfig } from '../config.js';
import { clientErrorHandler, frameworkErrors } from './error-shape.js';
import { setPathRoots } from '../util/scrub-paths.js';

/** Folders whose paths are made relative (or hidden) in messages to clients: the models folder first. */
export function pathRoots(config: Pick<ServerConfig, 'modelsDir' | 'dataDir' | 'outputDir'>): string[] {
  const roots = [config.modelsDir, config.outputDir, config.dataDir, process.cwd()];
  setPathRoots(roots);
  return roots;
}

/**
 * The Fastify options every HTTP app of this server shares: slow clients are cut off (headers, whole
 * request, idle sockets, kept-alive connections), and errors Fastify raises itself answer in the contract's
 * shape. Node checks the request and headers deadlines every `connectionsCheckingInterval`, so that is
 * kept short enough for the deadlines to mean what they say.
 */
export function httpOptions(config: Pick<ServerConfig, 'http' | 'modelsDir' | 'dataDir' | 'outputDir'>) {
  const t = config.http;
  return {
    connectionTimeout: t.idleTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    http: {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersTimeoutMs / 4))),
    },
    frameworkErrors: frameworkErrors(pathRoots(config)),
    clientErrorHandler,
  };
}
