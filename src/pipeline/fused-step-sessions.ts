/**
 * The worker's fused step sessions (fused-step-graph.ts): built on first use for a UNet, an ordered list of
 * ControlNets and a variant (guess mode, half batch), on the provider the UNet runs on. A fused session holds its
 * own copy of the weights, so few are kept (`FUSED_STEP_CACHE`, default 1): FUSED_STEP=auto fuses the first
 * combinations seen and leaves the rest to the separate sessions; FUSED_STEP=on releases the least recently used.
 */
import * as ort from 'onnxruntime-node';
import { providerOptions, sessionOptionsFor } from '../runtime/provider-options.js';
import type { SessionSettings } from '../runtime/session.js';
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
}

interface Entry {
  paths: string[];
  pending: Promise<FusedStepSession>;
}

export class FusedStepSessions {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly settings: Pick<SessionSettings, 'deviceId' | 'threads'>,
    private readonly capacity = 1,
    private readonly buildOptions: BuildOptions = {},
  ) {}

  /**
   * The fused session for these graphs and variant, built when missing. When the cache is full, `evict` releases the
   * least recently used one to make room; without it the answer is null (the caller runs the separate sessions), so
   * requests alternating between models never rebuild graphs back and forth.
   */
  async get(
    unet: FusedSource<UNetSignature>,
    controlnets: readonly FusedSource<ControlNetSignature>[],
    variant: FusedVariant,
    provider: string,
    evict = true,
  ): Promise<FusedStepSession | null> {
    const paths = [unet.path, ...controlnets.map((c) => c.path)];
    const key = JSON.stringify([paths, variant.guess, variant.halfBatch, provider]);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.pending;
    }
    if (!evict && this.entries.size >= this.capacity) return null;
    for (const [old, e] of [...this.entries]) {
      if (this.entries.size < this.capacity) break;
      this.entries.delete(old);
      await e.pending.then((s) => s.session.release()).catch(() => undefined);
    }
    const pending = (async () => {
      const { model, externalData } = buildFusedStepModel(unet, controlnets, variant, this.buildOptions);
      const session = await ort.InferenceSession.create(model, {
        ...sessionOptionsFor(provider, this.settings.threads),
        executionProviders: providerOptions(provider, this.settings.deviceId),
        ...(externalData.length > 0 ? { externalData } : {}),
      });
      return { session, provider };
    })();
    entry = { paths, pending };
    this.entries.set(key, entry);
    pending.catch(() => this.entries.delete(key));
    return pending;
  }

  /** Number of fused sessions kept (built or building). */
  get size(): number {
    return this.entries.size;
  }

  /** Releases the fused sessions that use a file under `prefix` (all when omitted). */
  async release(prefix = ''): Promise<number> {
    let released = 0;
    for (const [key, e] of [...this.entries]) {
      if (!e.paths.some((p) => p.startsWith(prefix))) continue;
      this.entries.delete(key);
      released++;
      await e.pending.then((s) => s.session.release()).catch(() => undefined);
    }
    return released;
  }
}
