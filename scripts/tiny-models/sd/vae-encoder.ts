/**
 * AutoencoderKL's encode path: Encoder + quant_conv. sample [batch,3,8h,8w] -> latent_parameters [batch,8,h,w]
 * (the diagonal Gaussian's mean and logvar), or latent_sample [batch,4,h,w] (its mean: exporters that emit a
 * sample cannot draw noise in the graph, and the mode is the deterministic choice).
 */
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { newGraph, type BuildOptions } from './build-options.js';
import { conv2d } from '../layers/conv.js';
import type { ModelSetConfig } from './config.js';
import { imageDims, latentDims } from './dims.js';
import { floatInput, floatOutput, type ExportFormat } from './formats.js';
import { downsample2D } from './resampling.js';
import { vaeMidBlock, vaeOutputHead, vaeResnet } from './vae-blocks.js';

export function buildVaeEncoder(set: ModelSetConfig, format: ExportFormat, opts: BuildOptions = {}): GraphBuilder {
  const cfg = set.vae;
  const channels = cfg.blockOutChannels;
  const moments = 2 * cfg.latentChannels;
  const g = newGraph('vae_encoder', format, set.seeds.vae, opts);
  const x = floatInput(g, format, 'sample', imageDims(3));

  let h = conv2d(g, x, 'encoder.conv_in', { inChannels: 3, outChannels: channels[0]!, kernel: 3 });
  let prev = channels[0]!;
  channels.forEach((out, i) => {
    for (let layer = 0; layer < cfg.layersPerBlock; layer++) {
      h = vaeResnet(g, cfg, h, `encoder.down_blocks.${i}.resnets.${layer}`, layer === 0 ? prev : out, out);
    }
    if (i < channels.length - 1) h = downsample2D(g, h, `encoder.down_blocks.${i}.downsamplers.0`, out, 0);
    prev = out;
  });
  const top = channels[channels.length - 1]!;
  h = vaeMidBlock(g, cfg, h, 'encoder.mid_block', top);
  h = vaeOutputHead(g, cfg, h, 'encoder', top, moments);
  h = conv2d(g, h, 'quant_conv', { inChannels: moments, outChannels: moments, kernel: 1 });

  if (format.vaeEncoderOutput === 'latent_parameters') {
    floatOutput(g, format, h, 'latent_parameters', latentDims(moments));
  } else {
    const mean = g.op('Slice', [h, g.int64([0]), g.int64([cfg.latentChannels]), g.int64([1])], {}, 'latent_dist/mean');
    floatOutput(g, format, mean, 'latent_sample', latentDims(cfg.latentChannels));
  }
  return g;
}
