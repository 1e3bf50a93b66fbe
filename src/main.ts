import { loadConfig } from './config.js';
import { assembleServer, createLogger } from './assemble.js';
import { ensureDefaultModels } from './runtime/default-models.js';

/** Starts the server: config → default models → workers, jobs, HTTP; graceful stop on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  const log = createLogger(config);
  if (await ensureDefaultModels(config, (line) => log.info(line))) log.info(`wrote the built-in tiny models to ${config.modelsDir}`);
  const server = await assembleServer(config, log);
  if (config.defaultApiKey) {
    log.warn('API_KEYS is not set: accepting the documented default key "enterprise_api_key"; set API_KEYS in production');
  }
  await server.app.listen({ host: config.host, port: config.port });
  log.info({ models: [...server.models.catalog().models.keys()], providers: config.executionProviders }, 'models found');
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
