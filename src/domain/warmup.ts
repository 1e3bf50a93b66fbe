/** A resolution warmed up at load time (config WARMUP_SIZES). */
export interface WarmupSize {
  width: number;
  height: number;
}

export interface WarmupReport extends WarmupSize {
  /** Wall time of this size's warm-up runs. */
  ms: number;
  /** Time inside each model's run(), by model. */
  runMs: Record<string, number>;
}
