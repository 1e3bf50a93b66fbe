/**
 * The shared domain types: what server, jobs, worker, runtime and pipeline hand each other (the one error a job fails
 * with, and the one client-error type). A leaf: it imports only types from other leaves (image, scheduler config, hint options), never a
 * layer that uses it.
 */
export type { BaseModelFiles, EmbeddingRef, ModelConfigs, SdxlModelFiles } from './model-files.js';
export { FAMILY_DEFAULT_SIDE, familyOfFiles } from './model-files.js';
export type {
  ControlUnit,
  GenerationMode,
  GenerationResult,
  GenerationSpec,
  HintSettings,
  ProgressEvent,
  RunTimings,
  SafetyCheckerSettings,
  UpscaleSettings,
} from './generation.js';
export type { LoadedReport, ProviderFallback, SessionKind } from './sessions.js';
export type { WarmupReport, WarmupSize } from './warmup.js';
export type { HintReply, HintRequest } from './hint.js';
export type { WorkerControl } from './worker-control.js';
export { JobFailedError } from './job-failed.js';
export { badRequest, ClientError } from './client-error.js';
