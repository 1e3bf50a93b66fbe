/**
 * Sizes of the generated SD-1.x model sets: `sd15` holds Stable Diffusion 1.5's real widths (random weights, for
 * benchmarks that need the real cost per pixel), `tiny` the same structure scaled down for tests and the default
 * start. Field names follow the diffusers configs they mirror.
 */

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: readonly number[];
  downBlockTypes: readonly DownBlockType[];
  layersPerBlock: number;
  normNumGroups: number;
  normEps: number;
  /** Heads of each down block's transformers (the up blocks use it reversed, the mid block the last). */
  attentionHeads: readonly number[];
  /** diffusers' only_cross_attention, per down block: the block's attn1 attends to the text instead of to itself. */
  onlyCrossAttention: readonly boolean[];
  crossAttentionDim: number;
}

export interface ControlNetConfig {
  conditioningChannels: number;
  /** ControlNetConditioningEmbedding's block_out_channels: one stride-2 conv between each pair. */
  conditioningEmbeddingChannels: readonly number[];
}

export interface TextEncoderConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  maxPositions: number;
  layerNormEps: number;
}

export interface VaeConfig {
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  normNumGroups: number;
  latentChannels: number;
  scalingFactor: number;
}

export interface ModelSetConfig {
  /** `tiny`, `sd15`, or another topology's name (topologies.ts). */
  name: string;
  /** Folder name of the base model set (the fp16 variant appends `-fp16`). */
  baseName: string;
  text: TextEncoderConfig;
  unet: UNetConfig;
  controlnet: ControlNetConfig;
  vae: VaeConfig;
  /** Seeds of the base components; a ControlNet uses seeds.controlnet + its index in CONTROLNET_NAMES. */
  seeds: { text: number; unet: number; vae: number; controlnet: number };
  /** ControlNets written by default. */
  controlnets: readonly ControlNetName[];
  /** The fp32 set's ControlNets go to `<out>/controlnet/` (the shared folder) rather than `<set>/controlnet/`. */
  sharedControlnetFolder: boolean;
}

/** The ControlNet names written for each set (they differ only by seed). */
export const CONTROLNET_NAMES = [
  'canny',
  'depth',
  'hed',
  'mlsd',
  'normal',
  'openpose',
  'scribble',
  'segmentation',
  'inpaint',
  'softedge',
  'lineart',
  'shuffle',
  'tile',
  'face_detector',
] as const;
export type ControlNetName = (typeof CONTROLNET_NAMES)[number];

const SEEDS = { text: 1001, unet: 2002, vae: 3003, controlnet: 4004 };

export const TINY: ModelSetConfig = {
  name: 'tiny',
  baseName: 'tiny-sd15',
  text: { hiddenSize: 32, intermediateSize: 128, layers: 2, heads: 2, maxPositions: 77, layerNormEps: 1e-5 },
  unet: {
    inChannels: 4,
    outChannels: 4,
    // Sized so a 512x512 ControlNet generation runs in seconds on a small CPU (scripts/bench-tiny-models.ts).
    // Self-attention runs at 1/4 and 1/8 of the latent size and in the mid block; the two top levels attend to
    // the text only (only_cross_attention), where h*w-token self-attention would cost more than all the rest.
    blockOutChannels: [16, 32, 32, 32],
    downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    layersPerBlock: 2,
    normNumGroups: 4,
    normEps: 1e-5,
    attentionHeads: [1, 1, 2, 2],
    onlyCrossAttention: [true, true, false, false],
    crossAttentionDim: 32,
  },
  controlnet: { conditioningChannels: 3, conditioningEmbeddingChannels: [4, 8, 16, 32] },
  vae: { blockOutChannels: [8, 16, 32, 32], layersPerBlock: 2, normNumGroups: 4, latentChannels: 4, scalingFactor: 0.18215 },
  seeds: SEEDS,
  controlnets: CONTROLNET_NAMES,
  sharedControlnetFolder: true,
};

export const SD15: ModelSetConfig = {
  name: 'sd15',
  baseName: 'sd15-random',
  text: { hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, maxPositions: 77, layerNormEps: 1e-5 },
  unet: {
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [320, 640, 1280, 1280],
    downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    layersPerBlock: 2,
    normNumGroups: 32,
    normEps: 1e-5,
    attentionHeads: [8, 8, 8, 8],
    onlyCrossAttention: [false, false, false, false],
    crossAttentionDim: 768,
  },
  controlnet: { conditioningChannels: 3, conditioningEmbeddingChannels: [16, 32, 96, 256] },
  vae: { blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normNumGroups: 32, latentChannels: 4, scalingFactor: 0.18215 },
  seeds: SEEDS,
  // One ControlNet: each is 1.4 GB in fp32.
  controlnets: ['canny'],
  sharedControlnetFolder: false,
};

export const CONFIGS = { tiny: TINY, sd15: SD15 } as const;
