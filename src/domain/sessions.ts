/** A provider passed over when a session opened, and why. */
export interface ProviderFallback {
  provider: string;
  reason: string;
}

export type SessionKind = 'text_encoder' | 'unet' | 'controlnet' | 'vae_decoder' | 'vae_encoder' | 'upscaler' | 'safety_checker' | 'fused_step';

/** One open session, as `system_details` and the start-up log show it. */
export interface LoadedReport {
  kind: SessionKind;
  /** The model file (a fused step graph: its UNet's). */
  path: string;
  /** A fused step graph: its registry key (files, variant, provider), and its ControlNets' files in order. */
  key?: string;
  controlnets?: string[];
  /** The execution provider that runs it. */
  provider: string;
  fallbacks: ProviderFallback[];
  /** Bytes it counts against MODEL_MEMORY_BUDGET: its weights plus its activations where measured. */
  bytes?: number;
  /** Its weight files' bytes. */
  weights?: number;
  /** The memory its first run took at warm-up, and how that was measured; null: not measured (weights only count). */
  activations?: { bytes: number; measured: string } | null;
  /** Held by running work (a job, hint, warm-up): not closed to make room until that ends. */
  held?: boolean;
}
