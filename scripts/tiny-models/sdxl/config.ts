/**
 * The tiny SDXL-shaped set: SDXL's structure (three UNet levels, DownBlock2D then two CrossAttnDownBlock2D, so
 * 9 down-block residuals + the mid one; two CLIP text encoders whose hidden states are concatenated, 32 + 32 = 64
 * wide; `text_time` added conditioning from the second encoder's projected pooled output and six size/crop
 * numbers; VAE scaling 0.13025) at test widths.
 */
import type { ModelSetConfig, TextEncoderConfig } from '../sd/config.js';

export interface TextTimeConfig {
  /** addition_time_embed_dim: sinusoid width per time_ids number (SDXL: 256). */
  timeEmbedDim: number;
  /** Width of text_embeds, the second encoder's projection_dim (SDXL: 1280). */
  pooledDim: number;
}

export interface SdxlSetConfig extends ModelSetConfig {
  /** The second encoder (CLIPTextModelWithProjection, GELU). */
  text2: TextEncoderConfig & { projectionDim: number };
  addition: TextTimeConfig;
  /** Tokenizer 2's pad token (SDXL's is "!"). */
  pad2: string;
}

const TEXT: TextEncoderConfig = { hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 2, maxPositions: 77, layerNormEps: 1e-5 };

export const TINY_SDXL: SdxlSetConfig = {
  // ModelSetConfig's name is the SD generator's config key; this set is written by sdxl/generate-sdxl.ts only.
  name: 'tiny',
  baseName: 'tiny-sdxl',
  text: TEXT,
  text2: { ...TEXT, projectionDim: 32 },
  addition: { timeEmbedDim: 8, pooledDim: 32 },
  pad2: '!',
  unet: {
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [16, 32, 32],
    downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
    layersPerBlock: 2,
    normNumGroups: 4,
    normEps: 1e-5,
    attentionHeads: [1, 2, 2],
    onlyCrossAttention: [false, false, false],
    crossAttentionDim: 64,
  },
  controlnet: { conditioningChannels: 3, conditioningEmbeddingChannels: [4, 8, 16, 32] },
  vae: { blockOutChannels: [8, 16, 32, 32], layersPerBlock: 2, normNumGroups: 4, latentChannels: 4, scalingFactor: 0.13025 },
  seeds: { text: 5005, unet: 6006, vae: 7007, controlnet: 8008 },
  controlnets: ['canny', 'depth'],
  sharedControlnetFolder: false,
};

/** Seed of the second text encoder (the first uses seeds.text). */
export const TEXT2_SEED_OFFSET = 1;
