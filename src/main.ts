import { loadConfig } from './config.js';
import { envFromArgs } from './cli-args.js';
import { assembleServer, createLogger } from './assemble.js';
import { ensureDefaultModels } from './runtime/default-models.js';

/**
 * Starts the server: config (environment, `--role`) → default models → workers, jobs, HTTP; graceful
 * stop on SIGINT/SIGTERM. A ROLE=worker node listens on PORT for health and metrics only.
 */
async function main() {
  const config = loadConfig({ ...process.env, ...envFromArgs(process.argv.slice(2)) });
  const log = createLogger(config);
  if (await ensureDefaultModels(config, (line) => log.info(line))) log.info(`wrote the built-in tiny models to ${config.modelsDir}`);
  const server = await assembleServer(config, log);
  if (config.defaultApiKey && config.role !== 'worker') {
    log.warn('API_KEYS is not set: accepting the documented default key "enterprise_api_key", which is also the admin key (load/delete models, clear_cache, clear_queue, restart_server); set API_KEYS and ADMIN_API_KEYS in production');
  } else if (config.adminApiKeys.size === 0 && config.role !== 'worker') {
    log.warn('ADMIN_API_KEYS is not set: load_model, delete_model, load_vae, clear_cache, clear_queue and restart_server answer 403');
  }
  await server.app.listen({ host: config.host, port: config.port });
  log.info({ models: [...server.models.catalog().models.keys()], providers: config.executionProviders, role: config.role, queue: config.queue === 'local' ? 'local' : 'redis', node: config.nodeName }, 'models found');
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

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
