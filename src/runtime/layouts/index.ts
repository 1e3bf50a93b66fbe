/**
 * Layout detection. Precedence, first match wins (a folder can look like several):
 *   1. onnx-web   cnet/model.onnx              (its unet/ is the plain UNet)
 *   2. axodox     unpaint.json + controlnet/model.onnx
 *   3. onnxstack  controlnet/model.onnx        (a graph directly in controlnet/ is a UNet)
 *   4. native     unet/model.onnx              (controlnet/<name>/model.onnx are this model's ControlNets)
 * A dedicated ControlNet UNet beats unet/ because the tools that write one keep a plain UNet in unet/.
 */
import { axodoxLayout } from './axodox.js';
import { nativeLayout } from './native.js';
import { onnxStackLayout } from './onnxstack.js';
import { onnxWebLayout } from './onnx-web.js';
import type { ModelLayout } from './types.js';

export const LAYOUTS: readonly ModelLayout[] = [onnxWebLayout, axodoxLayout, onnxStackLayout, nativeLayout];

export async function detectLayout(dir: string): Promise<ModelLayout | null> {
  for (const layout of LAYOUTS) if (await layout.matches(dir)) return layout;
  return null;
}

export type { LayoutContext, LayoutName, LayoutReading, ModelLayout } from './types.js';
