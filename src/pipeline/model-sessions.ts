import type * as ort from 'onnxruntime-node';
import { loadClipTokenizer } from '../runtime/onnx-tokenizer.js';
import { openSession, providerOrder, type SessionSettings } from '../runtime/session.js';
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
import { loraSetKey, mergeLoraSet, MERGED_VARIANTS_PER_GRAPH, type LoraRef } from '../lora/lora-set.js';
import type { LoraComponent } from '../lora/lora-file.js';
import type { MergeReport } from '../lora/merge.js';
import { addEmbeddings, embeddingSetKey, embeddingsFor, type EmbeddingUse } from '../embeddings/embedding-set.js';
import type { AddedToken } from '../tokenizer/added-tokens.js';
import { sessionBytes } from '../runtime/session-bytes.js';
import { primeGraphCache } from '../runtime/graph-cache-primer.js';
import { SessionRegistry, type SessionBudget } from '../runtime/session-registry.js';
import { FusedStepSessions } from './fused-step-sessions.js';

export interface Loaded<S> {
  session: ort.InferenceSession;
  signature: S;
  provider: string;
  path: string;
  /** Providers tried before `provider`, with why each failed. */
  fallbacks: ProviderFallback[];
  /** With LoRAs merged into the weights: what each LoRA matched in this graph. */
  loraReports?: MergeReport[];
  /** With embeddings added to a text encoder's table: the tokens its tokenizer must add, with their rows. */
  addedTokens?: AddedToken[];
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
 * and shared: two components asking for the same file get the same session. Every session is counted in one
 * SessionRegistry under `settings.memoryBudgetBytes`: opening one may close the least recently used sessions that no
 * running work holds (`hold`).
 */
export class ModelSessions {
  private readonly sessions = new Map<string, Promise<Loaded<unknown> & { kind: SessionKind }>>();
  private readonly tokenizers = new Map<string, Promise<ClipTokenizer>>();
  private readonly descriptions = new Map<string, Promise<ModelDescription>>();

  /** Hint networks (models/annotators/<name>/), opened on first use. */
  readonly annotators: CachedAnnotatorSessions;
  /**
   * Sizes, last use and holds of every open session, under MODEL_MEMORY_BUDGET. Other session caches (fused step
   * graphs, merged LoRA UNets) register theirs through its SessionBudget interface.
   */
  readonly registry: SessionRegistry;
  /** Fused ControlNets + UNet step graphs (fused-step-sessions.ts). */
  readonly fused: FusedStepSessions;

  constructor(
    readonly settings: SessionSettings,
    /** Where "what runs where" lines go (the worker passes console.log; silent by default). */
    private readonly log: (line: string) => void = () => {},
    readonly annotatorsDir = 'models/annotators',
  ) {
    this.registry = new SessionRegistry(settings.memoryBudgetBytes ?? Number.POSITIVE_INFINITY, log);
    this.annotators = createAnnotatorSessions(annotatorsDir, settings, this.registry);
    this.fused = new FusedStepSessions(settings, settings.fusedStepCache ?? 1, {}, this.registry);
  }

  /** Runs `fn` (a job, hint, warm-up) holding every session it opens or uses: none of them is closed to make room meanwhile. */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.registry.hold(fn);
  }

  /** The budget other session caches register with. */
  get budget(): SessionBudget {
    return this.registry;
  }

  /**
   * A text encoder, with the LoRA set's updates for `component` merged in when one is given: `text_encoder` (kohya
   * `lora_te_`/`lora_te1_`, PEFT `text_encoder.`) or SDXL's second encoder `text_encoder_2` (`lora_te2_`, `text_encoder_2.`),
   * and the embeddings' rows added to its token table when given (one merged variant for both).
   */
  textEncoder(path: string, loras?: readonly LoraRef[], component: Exclude<LoraComponent, 'unet'> = 'text_encoder', embeddings?: EmbeddingUse) {
    return this.load<TextEncoderSignature>('text_encoder', path, textEncoderSignature, loras, component, embeddings);
  }
  /** The UNet, with the LoRA set's UNet updates merged in when one is given. */
  unet(path: string, loras?: readonly LoraRef[]) {
    return this.load<UNetSignature>('unet', path, unetSignature, loras, 'unet');
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
    const sdxl = model.sdxl;
    const key = [
      model.unet,
      model.textEncoder,
      model.vaeDecoder,
      model.tokenizerDir,
      model.vaeScalingFactor,
      model.schedulerConfig.prediction_type,
      sdxl?.textEncoder2 ?? '',
      sdxl?.tokenizer2Dir ?? '',
    ].join('\n');
    let d = this.descriptions.get(key);
    if (!d) {
      // With LoRAs or embeddings, the merged sessions (same signatures) describe it: the plain graphs need not open too.
      const loads = [
        this.unet(model.unet, model.loras),
        this.textEncoder(model.textEncoder, model.loras, 'text_encoder', embeddingsFor(model, 'text_encoder')),
        this.vaeDecoder(model.vaeDecoder),
        this.tokenizer(model.tokenizerDir),
        sdxl ? this.textEncoder(sdxl.textEncoder2, model.loras, 'text_encoder_2', embeddingsFor(model, 'text_encoder_2')) : null,
        sdxl ? this.tokenizer(sdxl.tokenizer2Dir) : null,
      ] as const;
      // Every load settles before a failure (a refused embedding) is reported: none is left opening.
      d = Promise.allSettled(loads)
        .then(() => Promise.all(loads))
        .then(([unet, textEncoder, vaeDecoder, tokenizer, textEncoder2, tokenizer2]) =>
          describeModel(model, {
            unet: unet.signature,
            textEncoder: textEncoder.signature,
            vaeDecoder: vaeDecoder.signature,
            tokenizer,
            ...(textEncoder2 && tokenizer2 ? { textEncoder2: textEncoder2.signature, tokenizer2 } : {}),
          }),
        );
      this.descriptions.set(key, d);
      d.catch(() => this.descriptions.delete(key));
    }
    return d;
  }

  /**
   * Opens every session of a base model and those of the given ControlNets that fit (in order), all at once, and its
   * tokenizer; warns loudly when they did not all land on the same execution provider. A preload never closes a session
   * for a ControlNet: one that does not fit beside what is open is left closed (and logged), to be opened by the first
   * job that needs it.
   */
  async preload(model: BaseModelFiles, controlnets: readonly string[]): Promise<void> {
    const parts = [model.textEncoder, model.unet, model.vaeDecoder, ...(model.vaeEncoder ? [model.vaeEncoder] : [])];
    // Which ControlNets fit beside what is open and the base model's parts still to open, decided first so that
    // everything opens at once (session creation runs off the main thread).
    const size = async (p: string) => (this.sessions.has(p) ? 0 : this.registry.expectedBytes(p, await sessionBytes(p)));
    let room = this.registry.budgetBytes - this.registry.usedBytes - (await Promise.all(parts.map(size))).reduce((a, b) => a + b, 0);
    const chosen: string[] = [];
    const skipped: string[] = [];
    for (const c of controlnets) {
      const bytes = await size(c);
      if (bytes > room) skipped.push(c);
      else {
        chosen.push(c);
        room -= bytes;
      }
    }
    // On CPU, a first start optimises the graphs in parallel threads (session creation itself is one at a time).
    const toOpen = [...parts, ...(model.sdxl ? [model.sdxl.textEncoder2] : []), ...chosen].filter((p) => !this.sessions.has(p));
    const primed = await primeGraphCache(toOpen, this.settings);
    if (primed.primed.length > 0 || primed.failed.length > 0)
      this.log(
        `graph cache: ${primed.primed.length} optimised graph(s) written by parallel threads in ${Math.round(primed.ms)} ms${primed.failed.map((f) => `; ${f.file}: ${f.reason}`).join('')}`,
      );
    const opened = await Promise.all([
      this.textEncoder(model.textEncoder),
      ...(model.sdxl ? [this.textEncoder(model.sdxl.textEncoder2), this.tokenizer(model.sdxl.tokenizer2Dir)] : []),
      this.unet(model.unet),
      this.vaeDecoder(model.vaeDecoder),
      ...(model.vaeEncoder ? [this.vaeEncoder(model.vaeEncoder)] : []),
      ...chosen.map((c) => this.controlnet(c)),
      this.tokenizer(model.tokenizerDir),
      this.describe(model),
    ]);
    if (skipped.length > 0)
      this.log(
        `preload of ${model.id}: ${skipped.length} ControlNet(s) left closed, they do not fit MODEL_MEMORY_BUDGET beside the open sessions: ${skipped.join(', ')}`,
      );
    const reports = opened.flatMap((l) => ('session' in l ? [report(l as Loaded<unknown> & { kind: SessionKind })] : []));
    const mixed = mixedProviders(reports);
    if (mixed) this.log(`WARNING: model ${model.id}: ${mixed}`);
  }

  /**
   * The sessions currently open: kind, file, the provider that runs each and why others were passed over, their
   * bytes and holds; the fused step graphs too.
   */
  async loaded(): Promise<LoadedReport[]> {
    const keys = [...this.sessions.keys()];
    const settled = await Promise.allSettled(this.sessions.values());
    const open = new Map(this.registry.report().map((r) => [r.key, r]));
    const plain = settled.flatMap((s, i) => {
      if (s.status !== 'fulfilled') return [];
      const key = keys[i]!;
      const entry = open.get(key);
      return [
        {
          ...report(s.value),
          key,
          bytes: entry?.bytes ?? 0,
          weights: entry?.weightBytes ?? 0,
          activations: entry?.activations ?? null,
          held: entry?.held ?? false,
        },
      ];
    });
    return [...plain, ...(await this.fused.loaded())];
  }

  /** Releases every session (and tokenizer) whose path starts with `prefix` (all when omitted). */
  async release(prefix = ''): Promise<number> {
    let released = 0;
    for (const [path, pending] of [...this.sessions]) {
      if (!path.startsWith(prefix)) continue;
      this.sessions.delete(path);
      this.registry.forget(path);
      released++;
      await pending.then((l) => l.session.release()).catch(() => undefined);
    }
    for (const dir of [...this.tokenizers.keys()]) if (dir.startsWith(prefix)) this.tokenizers.delete(dir);
    for (const key of [...this.descriptions.keys()]) if (key.split('\n').some((p) => p.startsWith(prefix))) this.descriptions.delete(key);
    if (this.annotatorsDir.startsWith(prefix)) await this.annotators.release();
    // Fused step graphs count as sessions here too (system_details lists them).
    released += await this.fused.release(prefix);
    return released;
  }

  /** Merged-graph cache keys per graph path, least recently used first. */
  private readonly variants = new Map<string, string[]>();

  private load<S>(
    kind: SessionKind,
    path: string,
    describe: (s: ort.InferenceSession, name: string) => S,
    loras?: readonly LoraRef[],
    component?: LoraComponent,
    embeddings?: EmbeddingUse,
  ): Promise<Loaded<S>> {
    // One merged variant holds the LoRA set and the embeddings together.
    const embeddingKey = embeddingSetKey(embeddings);
    const setKey = [loraSetKey(loras), embeddingKey].filter(Boolean).join('\n');
    // Merged sessions are keyed by the graph's path first, so release(prefix) closes them with the plain one.
    const key = setKey ? `${path}\n${setKey}` : path;
    if (setKey) this.touchVariant(path, key);
    const pending = this.sessions.get(key) as Promise<Loaded<S> & { kind: SessionKind }> | undefined;
    if (pending) {
      // Held by this caller once it is open (another caller may still be opening it).
      return pending.then((loaded) => {
        this.registry.use(key);
        return loaded;
      });
    }
    const opening: Promise<Loaded<S> & { kind: SessionKind }> = (async () => {
      // Room first (closing idle sessions), so the memory is free before this one takes it. A merged variant (LoRA,
      // embeddings) is opened from memory, and on CPU onnxruntime keeps its own copy of weights given that way where it
      // maps a file: measured (scripts/bench-lora.ts, SD 1.5-width fp32 UNet of 3.2 GiB), 7.2 GiB resident against
      // 3.3 GiB for the plain session. So on CPU it counts twice its graph's weights.
      const weights = await sessionBytes(path);
      const onCpu = providerOrder(this.settings.providers)[0] === 'cpu';
      await this.registry.admit({ key, kind, bytes: setKey && onCpu ? 2 * weights : weights, close: () => this.close(key, opening) });
      try {
        const merged = loras && loras.length > 0 && component ? mergeLoraSet(path, component, loras) : null;
        const withEmbeddings = embeddingKey && embeddings ? addEmbeddings(path, merged, embeddings) : null;
        const fromMemory = withEmbeddings?.graph ?? merged ?? undefined;
        const { session, provider, fallbacks, fromGraphCache, openMs } = await openSession(path, this.settings, fromMemory);
        const cache = fromGraphCache === null ? '' : fromGraphCache ? ', from the optimised-graph cache' : ', optimised graph written to the cache';
        this.log(`${kind} ${path} opened in ${Math.round(openMs)} ms${cache}`);
        try {
          const loaded = {
            session,
            provider,
            path,
            fallbacks,
            kind,
            signature: describe(session, `${kind} (${path})`),
            ...(merged ? { loraReports: merged.reports } : {}),
            ...(withEmbeddings ? { addedTokens: withEmbeddings.tokens } : {}),
          };
          const embedded = withEmbeddings ? ` with embeddings ${embeddings!.refs.map((r) => r.name).join(', ')} added` : '';
          this.log(
            `${describeSession(report(loaded))}${merged ? ` with LoRA ${loras!.map((l) => `${l.name}@${l.strength}`).join(', ')} merged in` : ''}${embedded}`,
          );
          return loaded;
        } catch (err) {
          void session.release();
          throw err;
        }
      } catch (err) {
        this.registry.forget(key);
        throw err;
      }
    })();
    this.sessions.set(key, opening);
    opening.catch(() => {
      if (this.sessions.get(key) === opening) this.sessions.delete(key);
    });
    return opening;
  }

  /** Closes one session the registry evicted (it no longer counts it). */
  private async close(key: string, opening: Promise<Loaded<unknown>>): Promise<void> {
    if (this.sessions.get(key) === opening) this.sessions.delete(key);
    await opening.then((l) => l.session.release()).catch(() => undefined);
  }

  /** Marks a merged variant used; closes the least recently used ones past MERGED_VARIANTS_PER_GRAPH. */
  private touchVariant(path: string, key: string): void {
    const order = (this.variants.get(path) ?? []).filter((k) => k !== key);
    order.push(key);
    while (order.length > MERGED_VARIANTS_PER_GRAPH) {
      const old = order.shift()!;
      const pending = this.sessions.get(old);
      this.sessions.delete(old);
      this.registry.forget(old);
      void pending?.then((l) => l.session.release()).catch(() => undefined);
    }
    this.variants.set(path, order);
  }
}

function report(l: { kind: SessionKind; path: string; provider: string; fallbacks: ProviderFallback[] }): LoadedReport {
  return { kind: l.kind, path: l.path, provider: l.provider, fallbacks: l.fallbacks };
}
