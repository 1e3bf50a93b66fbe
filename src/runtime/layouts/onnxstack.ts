/**
 * OnnxStack / Amuse (TensorStack-AI): unet/ is the plain UNet and controlnet/model.onnx the UNet with ControlNet
 * inputs (down_block_<i>_additional_residual, mid_block_additional_residual); no scheduler/ (SD 1.5's is used).
 * ControlNets are separate graphs the user points at, e.g. <models>/controlnet/<Name>/model.onnx from OnnxStack's
 * converter: sample, timestep, encoder_hidden_states, controlnet_cond and a double [1] conditioning_scale; older
 * exports have float16 inputs and outputs.
 */
import path from 'node:path';
import { assembleBaseModel } from './base-model.js';
import { isFile } from './files.js';
import type { ModelLayout } from './types.js';

/** `<dir>/controlnet/model.onnx`: a graph directly in controlnet/ is a UNet, not one of our ControlNet folders. */
export async function hasControlNetUNet(dir: string): Promise<boolean> {
  return isFile(path.join(dir, 'controlnet', 'model.onnx'));
}

export const onnxStackLayout: ModelLayout = {
  name: 'onnxstack',
  matches: hasControlNetUNet,
  read: async (id, dir, ctx) => assembleBaseModel(id, dir, 'onnxstack', path.join(dir, 'controlnet', 'model.onnx'), ctx),
  ownControlNetDirs: () => [],
};
