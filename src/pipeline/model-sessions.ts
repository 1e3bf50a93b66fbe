import type * as ort from 'onnxruntime-node';
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
import { loadClipTokenizer } from '../runtime/onnx-tokenizer.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import type { BaseModelFiles } from './spec.js';

export interface Loaded<S> {
  session: ort.InferenceSession;
  signature: S;
  provider: string;
  path: string;
}

type Kind = 'text_encoder' | 'unet' | 'controlnet' | 'vae_decoder' | 'vae_encoder';

/**
 * The worker's cache of open sessions and tokenizers, keyed by file path. Loading is lazy (first use)
 * and shared: two components asking for the same file get the same session.
 */
export class ModelSessions {
  private readonly sessions = new Map<string, Promise<Loaded<unknown>>>();
  private readonly tokenizers = new Map<string, Promise<ClipTokenizer>>();

  constructor(private readonly settings: SessionSettings) {}

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

  tokenizer(dir: string): Promise<ClipTokenizer> {
    let t = this.tokenizers.get(dir);
    if (!t) {
      t = loadClipTokenizer(dir);
      this.tokenizers.set(dir, t);
      t.catch(() => this.tokenizers.delete(dir));
    }
    return t;
  }

  /** Opens every session of a base model and the given ControlNets, and its tokenizer. */
  async preload(model: BaseModelFiles, controlnets: readonly string[]): Promise<void> {
    await Promise.all([
      this.tokenizer(model.tokenizerDir),
      this.textEncoder(model.textEncoder),
      this.unet(model.unet),
      this.vaeDecoder(model.vaeDecoder),
      ...(model.vaeEncoder ? [this.vaeEncoder(model.vaeEncoder)] : []),
      ...controlnets.map((c) => this.controlnet(c)),
    ]);
  }

  /** Paths of the sessions currently open, with their providers. */
  async loaded(): Promise<{ path: string; provider: string }[]> {
    const settled = await Promise.allSettled(this.sessions.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [{ path: s.value.path, provider: s.value.provider }] : []));
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
    return released;
  }

  private load<S>(kind: Kind, path: string, describe: (s: ort.InferenceSession, name: string) => S): Promise<Loaded<S>> {
    let pending = this.sessions.get(path) as Promise<Loaded<S>> | undefined;
    if (!pending) {
      pending = openSession(path, this.settings).then(({ session, provider }) => {
        try {
          return { session, provider, path, signature: describe(session, `${kind} (${path})`) };
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
