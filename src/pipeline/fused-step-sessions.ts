/**
 * The worker's fused step sessions (fused-step-graph.ts): built on first use for a UNet, an ordered list of
 * ControlNets and a variant (guess mode, half batch), on the provider the UNet runs on. A fused session holds its
 * own copy of the weights (onnxruntime does not share them with the separate UNet and ControlNet sessions of the same
 * files), so each counts the bytes of all its files against MODEL_MEMORY_BUDGET in the worker's SessionRegistry, like
 * every other session: it is closed when the registry needs room and no running job holds it, and one that does not
 * fit beside the sessions the job holds is not built (the separate sessions run). Few are kept (`FUSED_STEP_CACHE`,
 * default 1): FUSED_STEP=auto fuses the first combinations seen and leaves the rest to the separate sessions;
 * FUSED_STEP=on releases the least recently used one that no running job holds.
 */
import * as ort from 'onnxruntime-node';
import type { LoadedReport } from '../domain/index.js';
import { providerOptions, sessionOptionsFor } from '../runtime/provider-options.js';
import type { SessionSettings } from '../runtime/session.js';
import { sessionBytes } from '../runtime/session-bytes.js';
import { SessionBudgetError, SessionRegistry } from '../runtime/session-registry.js';
import type { ControlNetSignature, UNetSignature } from '../runtime/signatures.js';
import { buildFusedStepModel, type BuildOptions, type FusedSource, type FusedVariant } from './fused-step-graph.js';

/**
 * FUSED_STEP: auto = fused where it covers the request, guess mode excepted; on = guess mode too, and a warning says
 * why when it does not cover a request; off = never.
 */
export type FusedStepMode = 'auto' | 'on' | 'off';

export interface FusedStepSession {
  session: ort.InferenceSession;
  provider: string;
  /** Its key in the session registry. */
  key: string;
}

/** The answer of `get`: the session, or none and why (the caller runs the separate sessions). */
export type FusedStepLookup = (FusedStepSession & { skipped?: undefined }) | { session: null; skipped: string };

interface Entry {
  /** The registry's key (readable: the files, the variant and the provider). */
  key: string;
  paths: string[];
  variant: string;
  pending: Promise<FusedStepLookup>;
}

export class FusedStepSessions {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly settings: Pick<SessionSettings, 'deviceId' | 'threads'>,
    private readonly capacity = 1,
    private readonly buildOptions: BuildOptions = {},
    /** The worker's registry (MODEL_MEMORY_BUDGET); a registry of its own without a budget when absent. */
    private readonly registry: SessionRegistry = new SessionRegistry(Number.POSITIVE_INFINITY),
  ) {}

  /**
   * The fused session for these graphs and variant, built when missing. With `evict` (FUSED_STEP=on), a full cache
   * releases the least recently used graph that no running job holds, and the registry closes idle sessions to make
   * room under MODEL_MEMORY_BUDGET; the answer is none (the caller runs the separate sessions) only when the graph
   * does not fit beside the sessions running work holds. Without it (auto, and a warm-up's `preload`), the graph is
   * built only when the cache has room and it fits beside the sessions open now, closing nothing: a fused graph is
   * an optional speed-up (the job holds the separate sessions anyway), so requests alternating between models never
   * close sessions or rebuild graphs back and forth for it.
   */
  async get(
    unet: FusedSource<UNetSignature>,
    controlnets: readonly FusedSource<ControlNetSignature>[],
    variant: FusedVariant,
    provider: string,
    evict = true,
    preload = false,
  ): Promise<FusedStepLookup> {
    const paths = [unet.path, ...controlnets.map((c) => c.path)];
    const variantName = variant.guess ? (variant.halfBatch ? 'guess mode, CFG' : 'guess mode') : 'plain';
    const id = JSON.stringify([paths, variant.guess, variant.halfBatch, provider]);
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
      const found = await entry.pending;
      if (found.session) this.registry.use(entry.key);
      return found;
    }
    if (this.entries.size >= this.capacity) {
      if (!evict) return { session: null, skipped: `FUSED_STEP_CACHE (${this.capacity}) is full` };
      for (const [old, e] of [...this.entries]) {
        if (this.entries.size < this.capacity) break;
        if (this.registry.isHeld(e.key)) continue;
        await this.close(old, e);
      }
      if (this.entries.size >= this.capacity) return { session: null, skipped: `FUSED_STEP_CACHE (${this.capacity}) is full of graphs running jobs use` };
    }
    const key = `fused ${paths.join(' + ')} (${variantName}) on ${provider}`;
    const pending = (async (): Promise<FusedStepLookup> => {
      // Its weights reach onnxruntime from memory (externalData), and on CPU onnxruntime keeps its own copy of weights
      // given that way where it maps a file: 7.2 GiB resident for a 3.2 GiB UNet against 3.3 GiB opened from the file
      // (scripts/bench-lora.ts, the same path as LoRA-merged sessions). So on CPU it counts twice its files.
      const files = (await Promise.all(paths.map(sessionBytes))).reduce((a, b) => a + b, 0);
      const bytes = provider === 'cpu' ? 2 * files : files;
      if ((preload || !evict) && !this.registry.fitsWithoutEviction(this.registry.expectedBytes(key, bytes))) {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        return {
          session: null,
          skipped: `it does not fit MODEL_MEMORY_BUDGET beside the open sessions (${preload ? 'a preload never closes one' : 'FUSED_STEP=auto closes none for it'})`,
        };
      }
      try {
        // Room first (closing idle sessions), before the build reads every weight file; the registry closes this one
        // later through `close`.
        await this.registry.admit({ key, kind: 'fused_step', bytes, close: () => this.close(id, entry!) });
      } catch (err) {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        if (err instanceof SessionBudgetError) return { session: null, skipped: `the fused graph does not fit: ${err.message}` };
        throw err;
      }
      try {
        const { model, externalData } = buildFusedStepModel(unet, controlnets, variant, this.buildOptions);
        const session = await ort.InferenceSession.create(model, {
          ...sessionOptionsFor(provider, this.settings.threads),
          executionProviders: providerOptions(provider, this.settings.deviceId),
          ...(externalData.length > 0 ? { externalData } : {}),
        });
        return { session, provider, key };
      } catch (err) {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        this.registry.forget(key);
        throw err;
      }
    })();
    entry = { key, paths, variant: variantName, pending };
    this.entries.set(id, entry);
    return pending;
  }

  /** Number of fused sessions kept (built or building). */
  get size(): number {
    return this.entries.size;
  }

  /** The fused sessions open now, for system_details (their bytes and holds from the registry). */
  async loaded(): Promise<LoadedReport[]> {
    const open = new Map(this.registry.report().map((r) => [r.key, r]));
    const reports: LoadedReport[] = [];
    for (const e of this.entries.values()) {
      const built = await e.pending.catch(() => null);
      const entry = open.get(e.key);
      if (!built?.session || !entry) continue;
      reports.push({
        kind: 'fused_step',
        key: e.key,
        path: e.paths[0]!,
        controlnets: e.paths.slice(1),
        provider: built.provider,
        fallbacks: [],
        bytes: entry.bytes,
        weights: entry.weightBytes,
        activations: entry.activations,
        held: entry.held,
      });
    }
    return reports;
  }

  /** Releases the fused sessions that use a file under `prefix` (all when omitted). */
  async release(prefix = ''): Promise<number> {
    let released = 0;
    for (const [id, e] of [...this.entries]) {
      if (!e.paths.some((p) => p.startsWith(prefix))) continue;
      await this.close(id, e);
      released++;
    }
    return released;
  }

  /** Closes one entry (evicted, released, or over capacity); the registry stops counting it. */
  private async close(id: string, e: Entry): Promise<void> {
    if (this.entries.get(id) === e) this.entries.delete(id);
    this.registry.forget(e.key);
    await e.pending.then((s) => s.session?.release()).catch(() => undefined);
  }
}
