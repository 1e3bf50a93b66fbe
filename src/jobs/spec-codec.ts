import type { RawImage } from '../image/types.js';
import type { GenerationSpec } from '../domain/index.js';

/**
 * A GenerationSpec split into JSON (for the job record) and its images (for a blob store), and back.
 * Images are stored raw with a tiny header: no PNG encode/decode on the way through the queue.
 */
const MAGIC = 0x31574152; // "RAW1"

export function encodeRaw(image: RawImage): Uint8Array {
  const out = new Uint8Array(12 + image.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, image.width, true);
  view.setUint16(8, image.height, true);
  view.setUint16(10, image.channels, true);
  out.set(image.data, 12);
  return out;
}

export function decodeRaw(bytes: Uint8Array): RawImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || view.getUint32(0, true) !== MAGIC) throw new Error('not a stored raw image');
  const width = view.getUint32(4, true);
  const height = view.getUint16(8, true);
  const channels = view.getUint16(10, true) as RawImage['channels'];
  const data = bytes.subarray(12);
  if (data.length !== width * height * channels) throw new Error('stored raw image is truncated');
  return { data, width, height, channels };
}

export interface SplitSpec {
  json: Record<string, unknown>;
  images: Record<string, RawImage>;
}

export function splitSpec(spec: GenerationSpec): SplitSpec {
  const images: Record<string, RawImage> = {};
  if (spec.initImage) images.init = spec.initImage;
  if (spec.maskImage) images.mask = spec.maskImage;
  spec.controlnets.forEach((c, k) => (images[`control.${k}`] = c.image));
  const json = {
    ...spec,
    seed: spec.seed.toString(),
    initImage: null,
    maskImage: null,
    controlnets: spec.controlnets.map(({ image: _image, ...rest }) => rest),
  };
  return { json, images };
}

export function joinSpec(json: Record<string, unknown>, images: Record<string, RawImage>): GenerationSpec {
  const spec = json as unknown as GenerationSpec & { seed: string; controlnets: Omit<GenerationSpec['controlnets'][number], 'image'>[] };
  return {
    ...spec,
    seed: BigInt(spec.seed),
    initImage: images.init ?? null,
    maskImage: images.mask ?? null,
    controlnets: spec.controlnets.map((c, k) => {
      const image = images[`control.${k}`];
      if (!image) throw new Error(`stored job lacks the image of ControlNet ${k}`);
      return { ...c, image };
    }),
  };
}
