/**
 * What differs between model families (SD 1.x/2.x now; SDXL later) and nothing else: how a prompt becomes the
 * UNet's text conditioning (one CLIP or two, pooled embeddings), which further inputs the UNet and ControlNets
 * take (SDXL's `text_embeds` and `time_ids`), and the default size. The stages (prepare latents, denoise step,
 * decode) are the same for every family and take their sizes from the ModelDescription.
 */
import type * as ort from 'onnxruntime-node';
import type { BaseModelFiles } from '../../domain/index.js';
import type { FloatType } from '../../runtime/tensors.js';
import type { ModelDescription } from '../model-description.js';
import type { ModelSessions } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';

/** The text side of a job, already batched and in the UNet's float type. */
export interface TextConditioning {
  /** encoder_hidden_states for the UNet: [uncond × n; cond × n] with CFG, cond × n without. */
  hidden: ort.Tensor;
  /** cond × n: what the ControlNets see in guess mode. */
  condHidden: ort.Tensor;
  /**
   * Further inputs by role name, batched as `hidden` (`all`) and as `condHidden` (`cond`): SDXL's text_embeds and
   * time_ids. Empty for SD 1.x/2.x.
   */
  extra: { all: Record<string, ort.Tensor>; cond: Record<string, ort.Tensor> };
  /** Prompt text cut off by the text length, if any. */
  truncated: string | null;
  /** Execution provider of each text model it ran, by session kind. */
  providers: Record<string, string>;
}

export interface PromptRequest {
  prompt: string;
  /** null: not given (SD encodes "", SDXL may zero it: force_zeros_for_empty_prompt). */
  negativePrompt: string | null;
  /** The output size: SDXL's time_ids. */
  width: number;
  height: number;
  samples: number;
  guided: boolean;
  /** The contract's clip_skip (1 = last layer). */
  clipSkip: number;
  /** The UNet's float type: the conditioning is returned in it. */
  floatType: FloatType;
}

export interface ModelFamily {
  readonly name: string;
  /** The size a request without width/height would get. */
  readonly defaultSize: { width: number; height: number };
  /** Tokenizes and encodes prompt and negative prompt (diffusers' `encode_prompt`). */
  encodePrompt(
    models: ModelSessions,
    model: BaseModelFiles,
    description: ModelDescription,
    request: PromptRequest,
    runner: SessionRunner,
  ): Promise<TextConditioning>;
  /** All-zero conditioning of `batch` items: warm-up needs only the shapes. */
  zeroConditioning(description: ModelDescription, batch: number, floatType: FloatType): TextConditioning;
}
