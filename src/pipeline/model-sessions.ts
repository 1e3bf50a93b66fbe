import type * as ort from 'onnxruntime-node';
import { loadClipTokenizer } from '../runtime/onnx-tokenizer.js';
import { openSession, type SessionSettings } from '../runtime/session.js';
import {
  controlNetSignature,
  textEncoderSignature,
  unetSignature,
  vaeSignature,
  type ControlNetSignature,
  type TextEncoderSignature,
  type UNetSignature,
  type VaeSignature,
} from '../runtime/signatures.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { describeModel, type ModelDescription } from './model-description.js';
import type { BaseModelFiles, LoadedReport, ProviderFallback, SessionKind } from '../domain/index.js';
import { safetyCheckerSignature, type SafetyCheckerSignature } from '../safety/checker.js';
import { createAnnotatorSessions, type CachedAnnotatorSessions } from '../runtime/annotator-sessions.js';

export interface Loaded<S> {
  session: ort.InferenceSession;
  signature: S;
  provider: string;
  path: string;
  /** Providers tried before `provider`, with why each failed. */
  fallbacks: ProviderFallback[];
}

export type { LoadedReport, SessionKind };

/**
 * A warning when the sessions of one model run on different providers (the UNet fell back to CPU while its
 * ControlNet runs on CUDA, say): each step then waits on the slowest device. Null when they agree.
 */
export function mixedProviders(reports: readonly LoadedReport[]): string | null {
  const byProvider = new Map<string, string[]>();
  for (const r of reports) byProvider.set(r.provider, [...(byProvider.get(r.provider) ?? []), r.kind]);
  if (byProvider.size <= 1) return null;
  const parts = [...byProvider].map(([provider, kinds]) => `${[...new Set(kinds)].join(', ')} on ${provider}`);
  const reasons = reports.flatMap((r) => r.fallbacks.map((f) => `${r.kind} skipped ${f.provider}: ${f.reason}`));
  return `sessions of one model run on different execution providers (${parts.join('; ')})${reasons.length > 0 ? `; ${[...new Set(reasons)].join('; ')}` : ''}`;
}

/** "unet on cuda", or "unet on cpu (cuda: <why>)": the line each session logs when it opens. */
export function describeSession(r: LoadedReport): string {
  const why = r.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ');
  return `${r.kind} ${r.path} runs on ${r.provider}${why ? ` (fell back from ${why})` : ''}`;
}

/**
 * The worker's cache of open sessions and tokenizers, keyed by file path. Loading is lazy (first use)
 * and shared: two components asking for the same file get the same session.
 */
export class ModelSessions {
  private readonly sessions = new Map<string, Promise<Loaded<unknown> & { kind: SessionKind }>>();
  private readonly tokenizers = new Map<string, Promise<ClipTokenizer>>();
  private readonly descriptions = new Map<string, Promise<ModelDescription>>();

  /** Hint networks (models/annotators/<name>/), opened on first use. */
  readonly annotators: CachedAnnotatorSessions;

  constructor(
    private readonly settings: SessionSettings,
    /** Where "what runs where" lines go (the worker passes console.log; silent by default). */
    private readonly log: (line: string) => void = () => {},
    readonly annotatorsDir = 'models/annotators',
  ) {
    this.annotators = createAnnotatorSessions(annotatorsDir, settings);
  }

  textEncoder(path: string) {
    return this.load<TextEncoderSignature>('text_encoder', path, textEncoderSignature);
  }
  unet(path: string) {
    return this.load<UNetSignature>('unet', path, unetSignature);
  }
  controlnet(path: string) {
    return this.load<ControlNetSignature>('controlnet', path, controlNetSignature);
  }
  vaeDecoder(path: string) {
    return this.load<VaeSignature>('vae_decoder', path, (s) => vaeSignature(s, 'vae_decoder'));
  }
  vaeEncoder(path: string) {
    return this.load<VaeSignature>('vae_encoder', path, (s) => vaeSignature(s, 'vae_encoder'));
  }
  /** An exported safety checker (clip_input → image_embeds). */
  safetyChecker(path: string) {
    return this.load<SafetyCheckerSignature>('safety_checker', path, safetyCheckerSignature);
  }
  /** A super-resolution network (models/upscalers/<name>/model.onnx): one 4-D image in, one out, as a VAE. */
  upscaler(path: string) {
    return this.load<VaeSignature>('upscaler', path, (s) => vaeSignature(s, 'upscaler'));
  }

  tokenizer(dir: string): Promise<ClipTokenizer> {
    let t = this.tokenizers.get(dir);
    if (!t) {
      t = loadClipTokenizer(dir);
      this.tokenizers.set(dir, t);
      t.catch(() => this.tokenizers.delete(dir));
    }
    return t;
  }

  /**
   * The model's description (residual layout, latent channels, VAE factor, text length, …), built once from its
   * graphs and configs when its sessions first open, and kept with them.
   */
  describe(model: BaseModelFiles): Promise<ModelDescription> {
    const key = [model.unet, model.textEncoder, model.vaeDecoder, model.tokenizerDir, model.vaeScalingFactor, model.schedulerConfig.prediction_type].join('\n');
    let d = this.descriptions.get(key);
    if (!d) {
      d = Promise.all([this.unet(model.unet), this.textEncoder(model.textEncoder), this.vaeDecoder(model.vaeDecoder), this.tokenizer(model.tokenizerDir)]).then(
        ([unet, textEncoder, vaeDecoder, tokenizer]) =>
          describeModel(model, { unet: unet.signature, textEncoder: textEncoder.signature, vaeDecoder: vaeDecoder.signature, tokenizer }),
      );
      this.descriptions.set(key, d);
      d.catch(() => this.descriptions.delete(key));
    }
    return d;
  }

  /**
   * Opens every session of a base model and the given ControlNets, and its tokenizer; warns loudly when they did
   * not all land on the same execution provider.
   */
  async preload(model: BaseModelFiles, controlnets: readonly string[]): Promise<void> {
    const loaded = await Promise.all([
      this.textEncoder(model.textEncoder),
      this.unet(model.unet),
      this.vaeDecoder(model.vaeDecoder),
      ...(model.vaeEncoder ? [this.vaeEncoder(model.vaeEncoder)] : []),
      ...controlnets.map((c) => this.controlnet(c)),
      this.tokenizer(model.tokenizerDir),
      this.describe(model),
    ]);
    const reports = loaded.flatMap((l) => ('session' in l ? [report(l as Loaded<unknown> & { kind: SessionKind })] : []));
    const mixed = mixedProviders(reports);
    if (mixed) this.log(`WARNING: model ${model.id}: ${mixed}`);
  }

  /** The sessions currently open: kind, file, the provider that runs each and why others were passed over. */
  async loaded(): Promise<LoadedReport[]> {
    const settled = await Promise.allSettled(this.sessions.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [report(s.value)] : []));
  }

  /** Releases every session (and tokenizer) whose path starts with `prefix` (all when omitted). */
  async release(prefix = ''): Promise<number> {
    let released = 0;
    for (const [path, pending] of [...this.sessions]) {
      if (!path.startsWith(prefix)) continue;
      this.sessions.delete(path);
      released++;
      await pending.then((l) => l.session.release()).catch(() => undefined);
    }
    for (const dir of [...this.tokenizers.keys()]) if (dir.startsWith(prefix)) this.tokenizers.delete(dir);
    for (const key of [...this.descriptions.keys()]) if (key.split('\n').some((p) => p.startsWith(prefix))) this.descriptions.delete(key);
    if (this.annotatorsDir.startsWith(prefix)) await this.annotators.release();
    return released;
  }

  private load<S>(kind: SessionKind, path: string, describe: (s: ort.InferenceSession, name: string) => S): Promise<Loaded<S>> {
    let pending = this.sessions.get(path) as Promise<Loaded<S> & { kind: SessionKind }> | undefined;
    if (!pending) {
      pending = openSession(path, this.settings).then(({ session, provider, fallbacks }) => {
        try {
          const loaded = { session, provider, path, fallbacks, kind, signature: describe(session, `${kind} (${path})`) };
          this.log(describeSession(report(loaded)));
          return loaded;
        } catch (err) {
          void session.release();
          throw err;
        }
      });
      this.sessions.set(path, pending);
      pending.catch(() => this.sessions.delete(path));
    }
    return pending;
  }
}

function report(l: { kind: SessionKind; path: string; provider: string; fallbacks: ProviderFallback[] }): LoadedReport {
  return { kind: l.kind, path: l.path, provider: l.provider, fallbacks: l.fallbacks };
}
