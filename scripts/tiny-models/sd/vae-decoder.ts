/** AutoencoderKL's decode path: post_quant_conv + Decoder. latent_sample [batch,4,h,w] -> sample [batch,3,8h,8w]. */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { newGraph, type BuildOptions } from './build-options.js';
import { conv2d } from '../layers/conv.js';
import type { ModelSetConfig } from './config.js';
import { imageDims, latentDims } from './dims.js';
import { floatInput, floatOutput, type ExportFormat } from './formats.js';
import { upsample2D } from './resampling.js';
import { vaeMidBlock, vaeOutputHead, vaeResnet } from './vae-blocks.js';

/** Keeps the random decoder's pixels mostly inside [-1, 1], like a trained one's. */
const OUTPUT_GAIN = 0.5;

export function buildVaeDecoder(set: ModelSetConfig, format: ExportFormat, opts: BuildOptions = {}): GraphBuilder {
  const cfg = set.vae;
  const latent = cfg.latentChannels;
  const g = newGraph('vae_decoder', format, set.seeds.vae, opts);
  const z = floatInput(g, format, 'latent_sample', latentDims(latent));

  const reversed = [...cfg.blockOutChannels].reverse();
  let h = conv2d(g, z, 'post_quant_conv', { inChannels: latent, outChannels: latent, kernel: 1 });
  h = conv2d(g, h, 'decoder.conv_in', { inChannels: latent, outChannels: reversed[0]!, kernel: 3 });
  h = vaeMidBlock(g, cfg, h, 'decoder.mid_block', reversed[0]!);
  let prev = reversed[0]!;
  reversed.forEach((out, i) => {
    for (let layer = 0; layer <= cfg.layersPerBlock; layer++) {
      h = vaeResnet(g, cfg, h, `decoder.up_blocks.${i}.resnets.${layer}`, layer === 0 ? prev : out, out);
    }
    if (i < reversed.length - 1) h = upsample2D(g, h, `decoder.up_blocks.${i}.upsamplers.0`, out);
    prev = out;
  });
  h = vaeOutputHead(g, cfg, h, 'decoder', cfg.blockOutChannels[0]!, 3, OUTPUT_GAIN);
  floatOutput(g, format, h, 'sample', imageDims(3));
  return g;
}
