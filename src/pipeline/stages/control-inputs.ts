/**
 * Stage: each ControlNet's hint — computed by its preprocessor (auto_hint) or the given image resized — as the
 * conditioning tensor of its ControlNet calls, already repeated to the ControlNet batch and in its float type.
 */
import type * as ort from 'onnxruntime-node';
import type { GenerationSpec } from '../../domain/index.js';
import { resizeRgb } from '../../image/codec.js';
import type { RawImage } from '../../image/types.js';
import { makeHint } from '../../preprocessors/registry.js';
import { floatTensor, type FloatType } from '../../runtime/tensors.js';
import { controlTensor } from '../image-tensors.js';
import type { ModelSessions } from '../model-sessions.js';

export async function controlInputs(spec: GenerationSpec, models: ModelSessions, floatTypes: readonly FloatType[], batch: number): Promise<ort.Tensor[]> {
  const tensors: ort.Tensor[] = [];
  for (let k = 0; k < spec.controlnets.length; k++) {
    const unit = spec.controlnets[k]!;
    const { image, minusOne } = await controlImage(spec, models, unit.type, unit.image);
    const one = controlTensor(image, minusOne);
    const batched = new Float32Array(one.length * batch);
    for (let b = 0; b < batch; b++) batched.set(one, b * one.length);
    tensors.push(floatTensor(floatTypes[k]!, batched, [batch, 3, spec.height, spec.width]));
  }
  return tensors;
}

async function controlImage(spec: GenerationSpec, models: ModelSessions, type: string, source: RawImage): Promise<{ image: RawImage; minusOne?: Uint8Array }> {
  if (!spec.autoHint) return { image: await resizeRgb(source, spec.width, spec.height) };
  const hint = await makeHint(type, source, {
    width: spec.width,
    height: spec.height,
    detectResolution: spec.hint.detectResolution,
    lowThreshold: spec.hint.lowThreshold,
    highThreshold: spec.hint.highThreshold,
    seed: Number(spec.seed & 0xffffffffn),
    mask: spec.maskImage ?? undefined,
    annotators: models.annotators,
    annotatorsDir: models.annotatorsDir,
  });
  return { image: hint.image, minusOne: hint.minusOneMask };
}
