import os from 'node:os';
import path from 'node:path';
import { parseWarmupSizes } from './pipeline/warmup-sizes.js';
import type { WarmupSize } from './domain/index.js';
import { checkS3Settings, S3SettingError, type S3SettingName, type S3Settings } from './jobs/s3-settings.js';
import { memoryBudget, parseByteSize, type BudgetSource } from './runtime/memory-budget.js';
import { DEFAULT_GRAPH_CACHE_MAX_BYTES } from './runtime/graph-cache-prune.js';
import { parseAllowedHosts, parseAllowedPorts, type OutboundPolicy } from './net/address-policy.js';
import type { ImageLimits } from './image/types.js';

/** Everything the server reads from its environment, parsed once at start-up. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Base of the URLs put in `output`: PUBLIC_URL, else http://HOST:PORT (never the request's Host header). */
  publicUrl: string;
  modelsDir: string;
  dataDir: string;
  outputDir: string;
  apiKeys: ReadonlySet<string>;
  /** True when API_KEYS was not set and the documented default key is accepted. */
  defaultApiKey: boolean;
  /**
   * Keys allowed on the endpoints that change the server (load/delete model, load_vae, clear_cache,
   * clear_queue, restart_server). ADMIN_API_KEYS; when unset and API_KEYS is unset too (dev mode), the
   * default key; when unset and API_KEYS is set, none (those endpoints answer 403).
   */
  adminApiKeys: ReadonlySet<string>;
  /** Requests a minute per API key on the API routes (RATE_LIMIT_PER_MIN); 0 = no limit. */
  rateLimitPerMin: number;
  /** At start, a damaged or foreign job database: stop with the fix ("fail") or move it aside and start fresh ("quarantine"). */
  onDbCorruption: 'fail' | 'quarantine';
  /** Execution providers in order of preference, e.g. ["cuda", "cpu"]. */
  executionProviders: readonly string[];
  deviceId: number;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
  /** FUSED_STEP: auto (default; guess mode excepted) / on = one fused ControlNets + UNet graph per step where it covers the request; off = separate sessions. */
  fusedStep: 'auto' | 'on' | 'off';
  /** FUSED_STEP_CACHE: fused step graphs kept open per worker (each holds its own copy of the weights). */
  fusedStepCache: number;
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
  /**
   * What opens at start (PRELOAD): "default" (the default base model, then its ControlNets while they fit the
   * budget), "none", or base model ids and ControlNet names. The deprecated PRELOAD_CONTROLNETS maps onto it.
   */
  preload: PreloadSetting;
  /** Bytes of sessions a worker keeps open (MODEL_MEMORY_BUDGET), and where the number came from. */
  memoryBudget: BudgetSource;
  /** Where optimised graphs are cached (GRAPH_CACHE_DIR, default DATA_DIR/ort-cache; "off" = no cache). */
  graphCacheDir: string | null;
  /** GRAPH_CACHE_MAX_BYTES: the graph cache is pruned to this (least recently used entries first; default 20 GiB). */
  graphCacheMaxBytes: number;
  /** Where outputs go: "local" (OUTPUT_DIR, or Redis with QUEUE=redis) or "s3" (an S3-compatible bucket). */
  outputStore: 'local' | 's3';
  /** The bucket's settings with OUTPUT_STORE=s3 (credentials come from the AWS SDK's default chain); else null. */
  s3: S3Settings | null;
  /** Where image URLs and webhooks may point (ALLOWED_FETCH_HOSTS, ALLOWED_FETCH_PORTS). */
  outbound: OutboundPolicy;
  /** How long a client may take to send its request, and idle connections. */
  http: HttpTimeouts;
}

/** "default", "none", or named base models and ControlNets (a list without a base model means the default one). */
export type PreloadSetting = 'default' | 'none' | { names: string[] };

export interface HttpTimeouts {
  /** The request line and headers (HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** The whole request, body included (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** A kept-alive connection between requests (KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way (IDLE_TIMEOUT_MS; longer than SYNC_TIMEOUT_S, since a sync request waits silently). */
  idleTimeoutMs: number;
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

export type { ImageLimits };

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
  const keys = (env.API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const adminKeys = (env.ADMIN_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const providers = (env.EXECUTION_PROVIDER || 'cpu')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
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
  const syncTimeoutMs = int(env, 'SYNC_TIMEOUT_S', 60, 0, 3600) * 1000;
  return {
    host,
    port,
    publicUrl: publicUrlSetting(env.PUBLIC_URL, host, port, role),
    modelsDir: path.resolve(env.MODELS_DIR || 'models'),
    dataDir,
    outputDir: path.resolve(env.OUTPUT_DIR || path.join(dataDir, 'generations')),
    apiKeys: new Set(keys.length > 0 ? keys : [DEFAULT_API_KEY]),
    defaultApiKey: keys.length === 0,
    adminApiKeys: new Set(adminKeys.length > 0 ? adminKeys : keys.length === 0 ? [DEFAULT_API_KEY] : []),
    onDbCorruption: dbCorruptionSetting(env.ON_DB_CORRUPTION),
    rateLimitPerMin: int(env, 'RATE_LIMIT_PER_MIN', 0, 0, 1_000_000),
    executionProviders: providers,
    deviceId: int(env, 'DEVICE_ID', 0, 0, 64),
    threads: int(env, 'THREADS', 0, 0, 1024),
    fusedStep: fusedStepSetting(env.FUSED_STEP),
    fusedStepCache: int(env, 'FUSED_STEP_CACHE', 1, 1, 16),
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
      syncTimeoutMs,
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
    preload: preloadSetting(env.PRELOAD, env.PRELOAD_CONTROLNETS),
    memoryBudget: memoryBudget(env.MODEL_MEMORY_BUDGET, providers[0]!, int(env, 'DEVICE_ID', 0, 0, 64)),
    graphCacheDir: graphCacheSetting(env.GRAPH_CACHE_DIR, dataDir),
    graphCacheMaxBytes:
      (env.GRAPH_CACHE_MAX_BYTES ?? '').trim() === '' ? DEFAULT_GRAPH_CACHE_MAX_BYTES : parseByteSize(env.GRAPH_CACHE_MAX_BYTES!, 'GRAPH_CACHE_MAX_BYTES'),
    ...outputStoreSettings(env),
    ...securitySettings(env, syncTimeoutMs),
  };
}

const S3_ENV: Record<S3SettingName, string> = {
  bucket: 'S3_BUCKET',
  prefix: 'S3_PREFIX',
  region: 'S3_REGION',
  endpoint: 'S3_ENDPOINT',
  publicUrl: 'S3_PUBLIC_URL',
  presignSeconds: 'S3_PRESIGN_S',
  credentials: 'AWS_ACCESS_KEY_ID',
};

function outputStoreSettings(env: NodeJS.ProcessEnv): Pick<ServerConfig, 'outputStore' | 's3'> {
  const store = (env.OUTPUT_STORE || 'local').trim().toLowerCase();
  if (store === 'local') return { outputStore: 'local', s3: null };
  if (store !== 's3') throw new Error(`config: OUTPUT_STORE must be local or s3, got "${env.OUTPUT_STORE}"`);
  try {
    return {
      outputStore: 's3',
      s3: checkS3Settings({
        bucket: env.S3_BUCKET,
        prefix: env.S3_PREFIX,
        region: env.S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION,
        endpoint: env.S3_ENDPOINT,
        forcePathStyle: env.S3_FORCE_PATH_STYLE ? flag(env, 'S3_FORCE_PATH_STYLE', false) : null,
        publicUrl: env.S3_PUBLIC_URL,
        presignSeconds: env.S3_PRESIGN_S ? int(env, 'S3_PRESIGN_S', 3600, 1, 7 * 24 * 3600) : null,
      }),
    };
  } catch (err) {
    if (err instanceof S3SettingError) throw new Error(`config: ${S3_ENV[err.setting]}: ${err.message} (OUTPUT_STORE=s3)`);
    throw err;
  }
}

// --- Security: outbound requests, client timeouts, the public URL ---

function securitySettings(env: NodeJS.ProcessEnv, syncTimeoutMs: number): Pick<ServerConfig, 'outbound' | 'http'> {
  const headersTimeoutMs = int(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) throw new Error('config: HEADERS_TIMEOUT_MS must not be longer than REQUEST_TIMEOUT_MS');
  return {
    outbound: { ...parseAllowedHosts(env.ALLOWED_FETCH_HOSTS), allowedPorts: parseAllowedPorts(env.ALLOWED_FETCH_PORTS) },
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
      idleTimeoutMs: int(env, 'IDLE_TIMEOUT_MS', syncTimeoutMs + 60_000, 1_000, 7_200_000),
    },
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** PUBLIC_URL, or http://HOST:PORT on a loopback bind; a server reachable from elsewhere must be told its URL. */
function publicUrlSetting(raw: string | undefined, host: string, port: number, role: ServerConfig['role']): string {
  const value = (raw || '').trim().replace(/\/+$/, '');
  if (value) {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new Error(`config: PUBLIC_URL must be an http(s) URL, got "${raw}"`);
    return value;
  }
  // A worker node makes no output URLs (the API node that took the job did).
  if (role !== 'worker' && !LOOPBACK_HOSTS.has(host) && !/^127\./.test(host)) {
    throw new Error(
      `config: HOST=${host} listens beyond this machine: set PUBLIC_URL to the address clients use (e.g. https://cn.example.com); output URLs are never taken from the request's Host header`,
    );
  }
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function preloadSetting(raw: string | undefined, legacy: string | undefined): PreloadSetting {
  const list = (v: string) =>
    v
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
  const value = (raw ?? '').trim();
  if (value === '') {
    // PRELOAD_CONTROLNETS (deprecated): "all" = the default; "none" = the default model alone; a list = those.
    const old = (legacy ?? '').trim();
    if (old === '' || old === 'all') return 'default';
    return { names: old === 'none' ? [] : list(old) };
  }
  if (value === 'default' || value === 'none') return value;
  const names = list(value);
  for (const n of names)
    if (!/^[A-Za-z0-9_.-]+$/.test(n)) throw new Error(`config: PRELOAD takes default, none or comma-separated model and ControlNet names, got "${n}"`);
  return { names };
}

function graphCacheSetting(raw: string | undefined, dataDir: string): string | null {
  const value = (raw ?? '').trim();
  if (value === 'off') return null;
  return path.resolve(value || path.join(dataDir, 'ort-cache'));
}

function queueSetting(raw: string | undefined): string {
  const value = (raw || 'local').trim();
  if (value === 'local') return value;
  if (!/^rediss?:\/\//.test(value)) throw new Error(`config: QUEUE must be "local" or a redis:// URL, got "${raw}"`);
  // ioredis would read a database that is not a number as database 0.
  if (!/^\/?\d*$/.test(new URL(value).pathname)) throw new Error(`config: QUEUE: the database after the last "/" must be a number, got "${raw}"`);
  return value;
}

function fusedStepSetting(raw: string | undefined): ServerConfig['fusedStep'] {
  const value = (raw || 'auto').trim().toLowerCase();
  if (value === 'auto' || value === 'on' || value === 'off') return value;
  throw new Error(`config: FUSED_STEP must be auto, on or off, got "${raw}"`);
}

function dbCorruptionSetting(raw: string | undefined): ServerConfig['onDbCorruption'] {
  const value = (raw || 'fail').trim().toLowerCase();
  if (value === 'fail' || value === 'quarantine') return value;
  throw new Error(`config: ON_DB_CORRUPTION must be fail or quarantine, got "${raw}"`);
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
