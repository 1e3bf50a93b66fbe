/**
 * onnx-web (ssube/onnx-web): diffusers' ONNX folder (usually named diffusion-*) whose unet/ is the plain UNet and
 * cnet/model.onnx the UNet with ControlNet inputs (down_block_0..11, mid_block_additional_residual). Its ControlNets
 * live in <models>/control/<name>.onnx (downloaded) or <models>/control/<name>/model.onnx (converted): no
 * conditioning_scale input, outputs in order but only the first two named ("down_block_res_samples",
 * "mid_block_res_sample"), so they are read by position.
 */
import path from 'node:path';
import { assembleBaseModel } from './base-model.js';
import { componentModel } from './files.js';
import type { ModelLayout } from './types.js';

export const onnxWebLayout: ModelLayout = {
  name: 'onnx-web',
  matches: async (dir) => (await componentModel(dir, 'cnet')) !== null,
  read: async (id, dir, ctx) => assembleBaseModel(id, dir, 'onnx-web', path.join(dir, 'cnet', 'model.onnx'), ctx),
  ownControlNetDirs: () => [],
};
