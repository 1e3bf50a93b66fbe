import os from 'node:os';
import path from 'node:path';
import { parseWarmupSizes } from './pipeline/warmup-sizes.js';
import type { WarmupSize } from './domain/index.js';

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
  jobs: JobSettings;
  /** "local" (SQLite + in-process queue) or a redis:// URL (shared queue for several nodes). */
  queue: string;
  role: 'api' | 'worker' | 'both';
  /** This node's name in job records and logs (several nodes sharing a Redis queue). */
  nodeName: string;
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  redisPrefix: string;
  /** Open ControlNet sessions at start: "all", "none", or a comma-separated list of names. */
  preloadControlnets: string;
}

export interface JobSettings {
  /** A request waits this long for its result before answering "processing". */
  syncTimeoutMs: number;
  maxAttempts: number;
  tempTtlMs: number;
  sweepIntervalMs: number;
  shutdownTimeoutMs: number;
  webhookAttempts: number;
  webhookTimeoutMs: number;
  webhookBackoffMs: number;
  /** Redis queue: a worker's hold on its running job (renewed while it runs); a job whose worker died runs again after it lapses. */
  lockMs: number;
  /** Redis queue: how often workers look for jobs whose worker died. */
  stalledCheckMs: number;
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
  const queue = queueSetting(env.QUEUE);
  const role = roleSetting(env.ROLE);
  if (role !== 'both' && queue === 'local') {
    throw new Error(`config: ROLE=${role} needs a shared queue: set QUEUE=redis://host:6379 (QUEUE=local runs everything in one process, ROLE=both)`);
  }
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
    jobs: {
      syncTimeoutMs: int(env, 'SYNC_TIMEOUT_S', 60, 0, 3600) * 1000,
      maxAttempts: int(env, 'MAX_ATTEMPTS', 3, 1, 100),
      tempTtlMs: int(env, 'TEMP_TTL_S', 24 * 3600, 1, 365 * 24 * 3600) * 1000,
      sweepIntervalMs: int(env, 'SWEEP_INTERVAL_S', 600, 1, 24 * 3600) * 1000,
      shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_S', 60, 0, 3600) * 1000,
      webhookAttempts: int(env, 'WEBHOOK_ATTEMPTS', 5, 1, 50),
      webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
      webhookBackoffMs: int(env, 'WEBHOOK_BACKOFF_MS', 2_000, 0, 3_600_000),
      lockMs: int(env, 'JOB_LOCK_MS', 30_000, 500, 3_600_000),
      stalledCheckMs: int(env, 'STALLED_CHECK_MS', 15_000, 100, 3_600_000),
    },
    queue,
    role,
    nodeName: (env.NODE_NAME || `${os.hostname()}-${process.pid}`).trim(),
    redisPrefix: redisPrefix(env.REDIS_PREFIX),
    preloadControlnets: env.PRELOAD_CONTROLNETS || 'all',
  };
}

function queueSetting(raw: string | undefined): string {
  const value = (raw || 'local').trim();
  if (value === 'local') return value;
  if (!/^rediss?:\/\//.test(value)) throw new Error(`config: QUEUE must be "local" or a redis:// URL, got "${raw}"`);
  // ioredis would read a database that is not a number as database 0.
  if (!/^\/?\d*$/.test(new URL(value).pathname)) throw new Error(`config: QUEUE: the database after the last "/" must be a number, got "${raw}"`);
  return value;
}

function roleSetting(raw: string | undefined): ServerConfig['role'] {
  const value = (raw || 'both').trim();
  if (value === 'api' || value === 'worker' || value === 'both') return value;
  throw new Error(`config: ROLE must be api, worker or both, got "${raw}"`);
}

function redisPrefix(raw: string | undefined): string {
  const value = (raw || 'cn').trim();
  if (/^[A-Za-z0-9_.-]{1,64}$/.test(value)) return value;
  throw new Error(`config: REDIS_PREFIX must be 1-64 letters, digits, "_", "." or "-", got "${raw}"`);
}
