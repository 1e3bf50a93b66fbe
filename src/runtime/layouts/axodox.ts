/**
 * axodox-machinelearning / Unpaint: Olive-converted folders (unpaint.json marks Unpaint's) whose
 * controlnet/model.onnx is the UNet with ControlNet inputs, bound by the names OnnxStack uses; float16 inputs and
 * outputs throughout, float16 timestep. The tokenizer ships with the app, so the folder may lack tokenizer/ (the
 * models directory's shared tokenizer/ is used). ControlNets: <models>/controlnet/<mode>.onnx with a double
 * conditioning_scale.
 */
import path from 'node:path';
import { assembleBaseModel } from './base-model.js';
import { isFile } from './files.js';
import { hasControlNetUNet } from './onnxstack.js';
import type { ModelLayout } from './types.js';

export const axodoxLayout: ModelLayout = {
  name: 'axodox',
  matches: async (dir) => (await isFile(path.join(dir, 'unpaint.json'))) && (await hasControlNetUNet(dir)),
  read: async (id, dir, ctx) => assembleBaseModel(id, dir, 'axodox', path.join(dir, 'controlnet', 'model.onnx'), ctx),
  ownControlNetDirs: () => [],
};
