/**
 * Ours (scripts/export_onnx.py, the generated tiny models): diffusers' ONNX folder whose unet/ takes the 13
 * ControlNet residuals; ControlNets for this model alone in <id>/controlnet/<name>/model.onnx.
 */
import path from 'node:path';
import { assembleBaseModel } from './base-model.js';
import { componentModel } from './files.js';
import type { ModelLayout } from './types.js';

export const nativeLayout: ModelLayout = {
  name: 'native',
  matches: async (dir) => (await componentModel(dir, 'unet')) !== null,
  read: async (id, dir, ctx) => assembleBaseModel(id, dir, 'native', path.join(dir, 'unet', 'model.onnx'), ctx),
  ownControlNetDirs: (dir) => [path.join(dir, 'controlnet')],
};
