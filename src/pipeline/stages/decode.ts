/**
 * Stage: latents → images. One sample at a time (the VAE decoder's activations dominate memory at high
 * resolution), unscaled by the VAE's scaling factor first.
 */
import type * as ort from 'onnxruntime-node';
import type { RawImage } from '../../image/types.js';
import type { VaeSignature } from '../../runtime/signatures.js';
import { floatTensor, toFloat32 } from '../../runtime/tensors.js';
import { vaeOutputToImages } from '../image-tensors.js';
import type { ModelDescription } from '../model-description.js';
import type { Loaded } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';
import type { LatentGrid } from './latent-grid.js';

export async function* decodeLatents(
  decoder: Loaded<VaeSignature>,
  latents: Float32Array,
  samples: number,
  description: ModelDescription,
  grid: LatentGrid,
  runner: SessionRunner,
): AsyncGenerator<RawImage> {
  const inv = 1 / description.scalingFactor;
  const dec = decoder.signature;
  const width = grid.width * description.vaeScaleFactor;
  const height = grid.height * description.vaeScaleFactor;
  for (let b = 0; b < samples; b++) {
    const z = latents.slice(b * grid.size, (b + 1) * grid.size);
    for (let i = 0; i < z.length; i++) z[i] *= inv;
    const out = await runner.runBatched(
      'vae_decoder',
      decoder.session,
      { [dec.input.name]: floatTensor(dec.floatType, z, grid.dims(1)) },
      [dec.input],
      1,
      dec.batch,
    );
    yield vaeOutputToImages(toFloat32(out[dec.output.name] as ort.Tensor), 1, width, height)[0]!;
  }
}
