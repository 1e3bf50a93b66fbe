import { loadConfig } from './config.js';
import { envFromArgs } from './cli-args.js';
import { assembleServer, createLogger } from './assemble.js';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';

/** Runs after the config is read and before models are scanned (`npm start` writes the tiny built-in set here). */
export type BeforeStart = (config: ServerConfig, log: Logger) => Promise<void>;

/**
 * Starts the server: config (environment, `--role`) → [beforeStart] → workers, jobs, HTTP; graceful
 * stop on SIGINT/SIGTERM. A ROLE=worker node listens on PORT for health and metrics only.
 */
async function main(beforeStart?: BeforeStart) {
  const config = loadConfig({ ...process.env, ...envFromArgs(process.argv.slice(2)) });
  const log = createLogger(config);
  await beforeStart?.(config, log);
  const server = await assembleServer(config, log);
  if (config.defaultApiKey && config.role !== 'worker') {
    log.warn(
      'API_KEYS is not set: accepting the documented default key "enterprise_api_key", which is also the admin key (load/delete models, clear_cache, clear_queue, restart_server); set API_KEYS and ADMIN_API_KEYS in production',
    );
  } else if (config.adminApiKeys.size === 0 && config.role !== 'worker') {
    log.warn('ADMIN_API_KEYS is not set: load_model, delete_model, load_vae, clear_cache, clear_queue and restart_server answer 403');
  }
  await server.app.listen({ host: config.host, port: config.port });
  log.info(
    {
      models: [...server.models.catalog().models.keys()],
      providers: config.executionProviders,
      role: config.role,
      queue: config.queue === 'local' ? 'local' : 'redis',
      node: config.nodeName,
    },
    'models found',
  );
  await server.warmUp();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing running jobs, then stopping`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** Starts the server; a start-up failure prints its message and exits with 1. */
export function runMain(beforeStart?: BeforeStart): void {
  main(beforeStart).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

// `node dist/src/main.js` (production: models are the operator's) or `tsx src/main.ts`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runMain();
