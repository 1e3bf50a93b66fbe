import { loadConfig } from './config.js';
import { buildApp } from './server/app.js';
import { scanModels, type ModelCatalog } from './runtime/catalog.js';
import { InferenceWorker } from './worker/worker-client.js';
import { JobQueue } from './jobs/queue.js';
import { ensureDefaultModels, DEFAULT_MODEL_ID } from './runtime/default-models.js';

/** Wires config → models → inference worker → queue → HTTP, and shuts down cleanly on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  if (await ensureDefaultModels(config, (line) => console.log(line))) {
    console.log(`wrote the built-in tiny models to ${config.modelsDir}`);
  }
  const catalog: ModelCatalog = await scanModels(config.modelsDir);
  const defaultModel = process.env.DEFAULT_MODEL || (catalog.models.has(DEFAULT_MODEL_ID) ? DEFAULT_MODEL_ID : null);

  const worker = new InferenceWorker({ providers: config.executionProviders, deviceId: config.deviceId, threads: config.threads });
  const queue = new JobQueue([worker], config.maxQueue);
  let ready = false;
  const app = buildApp({ config, catalog: () => catalog, queue, defaultModel, ready: () => ready });

  if (config.defaultApiKey) {
    app.log.warn('API_KEYS is not set: accepting the documented default key "enterprise_api_key"; set API_KEYS in production');
  }
  await app.listen({ host: config.host, port: config.port });
  app.log.info({ models: [...catalog.models.keys()], providers: config.executionProviders }, 'models found');
  // Open the default model's sessions now, so the first request is not the slow one; /readyz says when.
  const model = defaultModel ? catalog.models.get(defaultModel) : undefined;
  if (model) {
    const controlnets = [...(catalog.controlnets.get(model.id)?.values() ?? [])];
    const failure = await worker.preload(model, controlnets);
    if (failure) app.log.error(`loading ${model.id} failed: ${failure}`);
    else app.log.info({ loaded: await worker.loaded() }, `${model.id} loaded`);
  }
  ready = catalog.models.size > 0;

  const shutdown = async (signal: string) => {
    app.log.info(`${signal}: shutting down`);
    await app.close();
    await worker.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
