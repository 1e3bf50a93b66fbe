/**
 * SD-family topologies other than SD 1.5's, at tiny widths, for the tests that check the pipeline reads a model's
 * shape from its graphs and configs instead of assuming SD 1.5's:
 *
 * - `TINY_2BLOCK`: diffusers' own tiny test models (tests/pipelines/controlnet): UNet block_out_channels (32, 64),
 *   layers_per_block 2, so 6 down-block residuals + 1 mid; VAE (32, 64), a scale factor of 2; ControlNet
 *   conditioning embedding (16, 32), which halves the hint once to match.
 * - `TINY_3BLOCK`: a distilled UNet with one block fewer than SD's (9 + 1 residuals), SD's VAE factor of 8.
 * - `TINY_SD2`: SD 2.x's differences at tiny size: 1024-wide text states (OpenCLIP ViT-H's width); the tests add
 *   its v-prediction scheduler config and "!" pad token.
 */
import { TINY, type ModelSetConfig } from './config.js';

export const TINY_2BLOCK: ModelSetConfig = {
  ...TINY,
  name: 'tiny-2block',
  baseName: 'tiny-2block',
  text: { hiddenSize: 32, intermediateSize: 37, layers: 2, heads: 4, maxPositions: 77, layerNormEps: 1e-5 },
  unet: {
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [32, 64],
    downBlockTypes: ['DownBlock2D', 'CrossAttnDownBlock2D'],
    layersPerBlock: 2,
    normNumGroups: 32,
    normEps: 1e-5,
    attentionHeads: [2, 2],
    onlyCrossAttention: [false, false],
    crossAttentionDim: 32,
  },
  controlnet: { conditioningChannels: 3, conditioningEmbeddingChannels: [16, 32] },
  vae: { blockOutChannels: [32, 64], layersPerBlock: 1, normNumGroups: 32, latentChannels: 4, scalingFactor: 0.18215 },
  controlnets: ['canny', 'depth'],
  sharedControlnetFolder: false,
};

export const TINY_3BLOCK: ModelSetConfig = {
  ...TINY,
  name: 'tiny-3block',
  baseName: 'tiny-3block',
  unet: {
    ...TINY.unet,
    blockOutChannels: [16, 32, 32],
    downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    attentionHeads: [1, 2, 2],
    onlyCrossAttention: [true, false, false],
  },
  controlnets: ['canny'],
  sharedControlnetFolder: false,
};

export const TINY_SD2: ModelSetConfig = {
  ...TINY,
  name: 'tiny-sd2',
  baseName: 'tiny-sd2',
  text: { hiddenSize: 1024, intermediateSize: 256, layers: 1, heads: 16, maxPositions: 77, layerNormEps: 1e-5 },
  unet: { ...TINY.unet, crossAttentionDim: 1024 },
  controlnets: ['canny'],
  sharedControlnetFolder: false,
};

export const TOPOLOGIES = { 'tiny-2block': TINY_2BLOCK, 'tiny-3block': TINY_3BLOCK, 'tiny-sd2': TINY_SD2 } as const;
