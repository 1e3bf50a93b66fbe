import * as ort from 'onnxruntime-node';
import { providerOptions, sessionOptionsFor } from './provider-options.js';
import type { ProviderFallback } from '../domain/index.js';
import { planGraphCache } from './graph-cache.js';
import './float16-tensors.js';

export interface SessionSettings {
  /** Execution providers in order of preference; "cpu" is always tried last. */
  providers: readonly string[];
  deviceId: number;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads: number;
  /** MODEL_MEMORY_BUDGET: bytes of sessions kept open; unlimited when absent. */
  memoryBudgetBytes?: number;
  /** GRAPH_CACHE_DIR: optimised graphs are saved here and later sessions open from them (graph-cache.ts); none when absent. */
  graphCacheDir?: string | null;
  /** GRAPH_CACHE_MAX_BYTES: the graph cache is pruned to this after each entry it writes (graph-cache-prune.ts). */
  graphCacheMaxBytes?: number;
  /** FUSED_STEP: one fused ControlNets + UNet graph per step where it covers the request (auto: guess mode excepted; on: also guess mode). */
  fusedStep?: 'auto' | 'on' | 'off';
  /** FUSED_STEP_CACHE: fused step graphs kept open (default 1; each holds its own copy of the weights). */
  fusedStepCache?: number;
}

/**
 * A graph opened from memory instead of its file (LoRA-merged weights, not cached on disk): the serialized proto, and
 * the external data files it names, by location (onnxruntime copies them while the session is created).
 */
export interface GraphFromMemory {
  model: Uint8Array;
  externalData: readonly { path: string; data: Uint8Array }[];
}

/** A provider that was tried before the one that runs, and why it was passed over. */
export type { ProviderFallback };

export interface LoadedSession {
  session: ort.InferenceSession;
  /** The execution provider that accepted the model. */
  provider: string;
  path: string;
  /** Providers tried first, in order, with the reason each failed (empty when the first choice runs). */
  fallbacks: ProviderFallback[];
  /** Opened from the optimised-graph cache (true), optimised and written to it (false), or no cache (null). */
  fromGraphCache: boolean | null;
  /** Time to create the session. */
  openMs: number;
}

/**
 * Failures that mean the provider cannot work in this process at all (its runtime library is missing, no GPU
 * adapter): later sessions skip it instead of failing again, noisily, one by one.
 */
const PROCESS_WIDE = [
  /Failed to load (shared )?library/i,
  /cannot open shared object/i,
  /No supported adapters/i,
  /Failed to get a WebGPU adapter/i,
  /is unsupported/i,
];
const unavailable = new Map<string, string>();
/** The first session opened on each provider: later ones wait for it, so a missing library fails once, not per model. */
const probes = new Map<string, Promise<unknown>>();

/** The order providers are tried in: the configured ones, TensorRT backed by CUDA, CPU last. */
export function providerOrder(providers: readonly string[]): string[] {
  const order: string[] = [];
  for (const p of providers) {
    if (p === 'cpu' || order.includes(p)) continue;
    order.push(p);
    // TensorRT leaves the nodes it cannot take to the next provider; CUDA keeps them on the GPU.
    if (p === 'tensorrt' && !providers.includes('cuda')) order.push('cuda');
  }
  return [...order, 'cpu'];
}

function firstLine(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0]!.trim();
}

/**
 * Opens a model on the first provider that accepts it. A provider whose runtime library is missing (CUDA on a
 * CPU-only install) or that finds no GPU fails at session creation, so we fall through to the next one and report
 * what really runs, and why the ones before it did not.
 */
export async function openSession(modelPath: string, settings: SessionSettings, fromMemory?: GraphFromMemory): Promise<LoadedSession> {
  const fallbacks: ProviderFallback[] = [];
  for (const provider of providerOrder(settings.providers)) {
    const probe = probes.get(provider);
    if (probe) await probe.catch(() => undefined);
    const known = unavailable.get(provider);
    if (known) {
      fallbacks.push({ provider, reason: known });
      continue;
    }
    const options: ort.InferenceSession.SessionOptions = {
      ...sessionOptionsFor(provider, settings.threads),
      executionProviders: providerOptions(provider, settings.deviceId),
    };
    const started = performance.now();
    try {
      // A graph from memory (LoRA-merged weights, not cached on disk): `modelPath` then only names it.
      const session = fromMemory
        ? { session: await createFromMemory(provider, fromMemory, options), fromCache: null }
        : await createOnce(provider, modelPath, options, settings.graphCacheDir ?? null, settings.graphCacheMaxBytes);
      return { session: session.session, provider, path: modelPath, fallbacks, fromGraphCache: session.fromCache, openMs: performance.now() - started };
    } catch (err) {
      const reason = firstLine(err);
      if (provider !== 'cpu' && PROCESS_WIDE.some((p) => p.test(reason))) unavailable.set(provider, reason);
      fallbacks.push({ provider, reason });
    }
  }
  throw new Error(`could not open ${modelPath} on any execution provider (${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')})`);
}

/** A graph from memory, on one provider (the first creation on a provider is its probe). */
function createFromMemory(provider: string, graph: GraphFromMemory, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const creating = ort.InferenceSession.create(graph.model, graph.externalData.length > 0 ? { ...options, externalData: graph.externalData } : options);
  if (!probes.has(provider)) probes.set(provider, creating);
  return creating;
}

/**
 * One creation on one provider, through the graph cache when there is one: from the cached optimised graph (a broken
 * entry is dropped and the model opens from its file), or from the file, saving the optimised graph.
 */
async function createOnce(
  provider: string,
  modelPath: string,
  options: ort.InferenceSession.SessionOptions,
  cacheDir: string | null,
  cacheMaxBytes?: number,
): Promise<{ session: ort.InferenceSession; fromCache: boolean | null }> {
  const create = (file: string, opts: ort.InferenceSession.SessionOptions) => {
    const creating = ort.InferenceSession.create(file, opts);
    if (!probes.has(provider)) probes.set(provider, creating);
    return creating;
  };
  // TensorRT compiles subgraphs into nodes onnxruntime cannot save (its own engine cache is out of reach from Node).
  if (!cacheDir || provider === 'tensorrt') return { session: await create(modelPath, options), fromCache: null };
  // A cache folder that cannot be written (read-only volume, full disk) costs speed, not the session.
  const plan = await planGraphCache(cacheDir, modelPath, provider, options, cacheMaxBytes).catch(() => null);
  if (!plan) return { session: await create(modelPath, options), fromCache: null };
  if (plan.cached) {
    try {
      return { session: await create(plan.cached, plan.options), fromCache: true };
    } catch (err) {
      // The model itself opens: the entry was broken (drop it; the next start writes it again). Otherwise the provider failed.
      const session = await create(modelPath, options).catch(() => Promise.reject(err));
      await plan.discard();
      return { session, fromCache: false };
    }
  }
  try {
    const session = await create(modelPath, plan.options);
    await plan.commit();
    return { session, fromCache: false };
  } catch {
    // Saving the optimised graph can fail where opening does not (disk full): open without the cache.
    await plan.discard();
    return { session: await create(modelPath, options), fromCache: null };
  }
}

/** Forgets providers marked unavailable (tests; a process normally keeps its libraries). */
export function resetProviderAvailability(): void {
  unavailable.clear();
  probes.clear();
}
