import type { SchedulerConfig } from '../schedulers/types.js';

/**
 * The diffusers config.json files of a model folder, as read (plain JSON, structured-clone safe): the pipeline's
 * model description takes the residual layout, latent channels and VAE scale factor from them where the graphs
 * leave those symbolic.
 */
export interface ModelConfigs {
  /** unet/config.json: block_out_channels, layers_per_block, cross_attention_dim, in_channels, … */
  unet?: Record<string, unknown>;
  /** vae_decoder/config.json (or vae/config.json): block_out_channels, latent_channels, scaling_factor, … */
  vae?: Record<string, unknown>;
}

/** A base model resolved to files on disk, as the catalog reads it and the workers receive it. */
export interface BaseModelFiles {
  id: string;
  dir: string;
  /** The on-disk layout it was read in (runtime/layouts): native, onnx-web, onnxstack or axodox. */
  layout?: string;
  tokenizerDir: string;
  textEncoder: string;
  unet: string;
  vaeDecoder: string;
  vaeEncoder: string | null;
  schedulerConfig: SchedulerConfig;
  /** The VAE's latent scaling factor (0.18215 for SD 1.x). */
  vaeScalingFactor: number;
  /** The folder's config files, where it has them. */
  configs?: ModelConfigs;
  /**
   * SDXL (a folder with text_encoder_2/): the second tokenizer and text encoder (CLIPTextModelWithProjection:
   * `text_embeds` and `hidden_states.N`), and model_index.json's `force_zeros_for_empty_prompt` (default true, as
   * diffusers' SDXL pipelines). Absent for SD 1.x/2.x.
   */
  sdxl?: SdxlModelFiles;
  /** LoRAs merged into the UNet and text encoder for this request (`lora_model`), in order. */
  loras?: LoraRef[];
  /** Textual-inversion embeddings added to the tokenizers and text encoders for this request (`embeddings_model`). */
  embeddings?: EmbeddingRef[];
}

/** One textual-inversion embedding of a request: its id, its safetensors file, and the trigger word it adds. */
export interface EmbeddingRef {
  name: string;
  path: string;
  /** The word the prompt uses (the id, unless the file names one); multi-vector ones add `<t>_1`, `<t>_2`, … too. */
  trigger: string;
  /** Vectors per text encoder. */
  vectors: number;
}

/** One LoRA of a request: its id, its safetensors file and strength. */
export interface LoraRef {
  name: string;
  path: string;
  strength: number;
}

export interface SdxlModelFiles {
  tokenizer2Dir: string;
  textEncoder2: string;
  forceZerosForEmptyPrompt: boolean;
}

/**
 * The side a request without width/height gets, per family (diffusers' default sample sizes): the HTTP plan applies
 * it, and the family modules (pipeline/family/) report it.
 */
export const FAMILY_DEFAULT_SIDE = { sd: 512, sdxl: 1024 } as const;

/** The model family a folder is read as: `sdxl` when it has a second text encoder. */
export const familyOfFiles = (model: Pick<BaseModelFiles, 'sdxl'>): 'sd' | 'sdxl' => (model.sdxl ? 'sdxl' : 'sd');
