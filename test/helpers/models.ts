import path from 'node:path';

/** Where the test run's global setup writes the tiny model sets (the same folder `npm start` uses). */
export const MODELS_DIR = path.resolve('models');
