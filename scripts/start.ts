/**
 * `npm start`: the server, after writing the tiny built-in model set into MODELS_DIR when it holds no base
 * model (ENSURE_TINY_MODELS=false turns that off). The server itself (`src/main.ts`, the Docker image's
 * entry) never loads the generator: the tiny models are a development and first-run convenience.
 */
import { runMain } from '../src/main.js';
import { ensureDefaultModels } from './tiny-models/ensure-default.js';

runMain(async (config, log) => {
  if (await ensureDefaultModels(config, (line) => log.info(line))) log.info('wrote the built-in tiny models to MODELS_DIR');
});
