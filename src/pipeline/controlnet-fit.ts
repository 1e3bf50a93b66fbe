/**
 * Whether a ControlNet fits a model's UNet: as many residuals, each with the channels and at the resolution level
 * of the UNet input it feeds (where the ControlNet's graph states them). A ControlNet made for another base model
 * (SD 2.x widths on SD 1.5, a 3-block distilled UNet's ControlNet on a 4-block UNet) fails here with both names and
 * the first difference, not inside onnxruntime.
 */
import type { ControlNetSignature } from '../runtime/signatures.js';
import { SignatureError } from '../runtime/signatures.js';
import type { ModelDescription } from './model-description.js';
import { statedLevels } from './residual-layout.js';

const counted = (n: number) => `${n} residuals (${n - 1} down-block + 1 mid-block)`;

export function checkControlNetFits(
  modelId: string,
  model: Pick<ModelDescription, 'residuals'> & Partial<Pick<ModelDescription, 'addedConditions'>>,
  controlnet: ControlNetSignature,
  controlnetName: string,
): void {
  const prefix = `ControlNet "${controlnetName}" does not fit model "${modelId}"'s UNet`;
  const want = model.residuals;
  const outs = controlnet.outputs;
  const sdxl = model.addedConditions ?? null;
  if (sdxl && controlnet.addedConditions.length === 0) {
    throw new SignatureError(
      `${prefix}: it takes no ${sdxl.textEmbeds}, ${sdxl.timeIds} (an SD 1.x/2.x ControlNet) and "${modelId}" is an SDXL model; use a ControlNet made for SDXL`,
    );
  }
  if (!sdxl && controlnet.addedConditions.length > 0) {
    const names = controlnet.addedConditions.map((s) => s.name).join(', ');
    throw new SignatureError(`${prefix}: it takes ${names} (SDXL's added conditions), which an SD 1.x/2.x UNet does not`);
  }
  if (outs.length !== want.length) {
    throw new SignatureError(
      `${prefix}: it returns ${counted(outs.length)} where the UNet takes ${counted(want.length)} (a ControlNet for another base model?)`,
    );
  }
  outs.forEach((out, j) => {
    const got = typeof out.shape[1] === 'number' ? out.shape[1] : null;
    const channels = want[j]!.channels;
    if (got !== null && channels !== null && got !== channels) {
      throw new SignatureError(
        `${prefix}: its residual ${j} ("${out.name}") has ${got} channels where the UNet takes ${channels} (a ControlNet for another base model?)`,
      );
    }
  });
  if (controlnet.pooled) return;
  const levels = statedLevels(outs, controlnet.sample);
  const j = levels ? levels.findIndex((level, i) => level !== want[i]!.level) : -1;
  if (levels && j >= 0) {
    const size = (level: number) => (level === 0 ? 'the latent size' : `1/${2 ** level} of the latent size`);
    throw new SignatureError(`${prefix}: its residual ${j} ("${outs[j]!.name}") is at ${size(levels[j]!)} where the UNet takes it at ${size(want[j]!.level)}`);
  }
}
