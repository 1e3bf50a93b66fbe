/** A provider passed over when a session opened, and why. */
export interface ProviderFallback {
  provider: string;
  reason: string;
}

export type SessionKind = 'text_encoder' | 'unet' | 'controlnet' | 'vae_decoder' | 'vae_encoder' | 'upscaler' | 'safety_checker';

/** One open session, as `system_details` and the start-up log show it. */
export interface LoadedReport {
  kind: SessionKind;
  path: string;
  /** The execution provider that runs it. */
  provider: string;
  fallbacks: ProviderFallback[];
  /** Bytes it counts against MODEL_MEMORY_BUDGET (its weight files). */
  bytes?: number;
  /** Held by running work (a job, hint, warm-up): not closed to make room until that ends. */
  held?: boolean;
}
