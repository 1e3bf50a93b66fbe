import path from 'node:path';
import { parseWarmupSizes, type WarmupSize } from './pipeline/warmup-sizes.js';

/** Everything the server reads from its environment, parsed once at start-up. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Base of the URLs put in `output` (defaults to http://host:port). */
  publicUrl: string;
  modelsDir: string;
  dataDir: string;
  outputDir: string;
  apiKeys: ReadonlySet<string>;
  /** True when API_KEYS was not set and the documented default key is accepted. */
  defaultApiKey: boolean;
  /** Execution providers in order of preference, e.g. ["cuda", "cpu"]. */
  executionProviders: readonly string[];
  deviceId: number;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
  /** Resolutions run once at load (WARMUP_SIZES, e.g. "512x512,768x768"); default 512x512 on GPU, none on CPU. */
  warmupSizes: WarmupSize[];
  maxQueue: number;
  image: ImageLimits;
  /** Generate the tiny built-in model set into modelsDir when it is missing. */
  ensureTinyModels: boolean;
  logLevel: string;
}

export interface ImageLimits {
  fetchTimeoutMs: number;
  maxBytes: number;
  maxPixels: number;
}

export const DEFAULT_API_KEY = 'enterprise_api_key';

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`config: ${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`config: ${name} must be true or false, got "${env[name]}"`);
}

const KNOWN_PROVIDERS = ['cuda', 'tensorrt', 'webgpu', 'cpu'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const host = env.HOST || '127.0.0.1';
  const port = int(env, 'PORT', 7860, 0, 65535);
  const dataDir = path.resolve(env.DATA_DIR || 'data');
  const keys = (env.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const providers = (env.EXECUTION_PROVIDER || 'cpu').split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  for (const p of providers) {
    if (!KNOWN_PROVIDERS.includes(p)) {
      throw new Error(`config: EXECUTION_PROVIDER "${p}" is not one of ${KNOWN_PROVIDERS.join(', ')}`);
    }
  }
  // CPU is always the last resort, so a box without the GPU runtime still serves.
  if (!providers.includes('cpu')) providers.push('cpu');
  return {
    host,
    port,
    publicUrl: (env.PUBLIC_URL || '').replace(/\/+$/, ''),
    modelsDir: path.resolve(env.MODELS_DIR || 'models'),
    dataDir,
    outputDir: path.resolve(env.OUTPUT_DIR || path.join(dataDir, 'generations')),
    apiKeys: new Set(keys.length > 0 ? keys : [DEFAULT_API_KEY]),
    defaultApiKey: keys.length === 0,
    executionProviders: providers,
    deviceId: int(env, 'DEVICE_ID', 0, 0, 64),
    threads: int(env, 'THREADS', 0, 0, 1024),
    warmupSizes: parseWarmupSizes(env.WARMUP_SIZES, providers[0]!),
    maxQueue: int(env, 'MAX_QUEUE', 32, 1, 100_000),
    image: {
      fetchTimeoutMs: int(env, 'IMAGE_FETCH_TIMEOUT_MS', 15_000, 100, 600_000),
      maxBytes: int(env, 'IMAGE_MAX_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxPixels: int(env, 'IMAGE_MAX_PIXELS', 4096 * 4096, 64, 1 << 30),
    },
    ensureTinyModels: flag(env, 'ENSURE_TINY_MODELS', true),
    logLevel: env.LOG_LEVEL || 'info',
  };
}
