/**
 * GPU memory of an SD 1.5 model set from exact parameter counts (the builder's sd15 config reproduces diffusers'
 * modules: test/tiny-models/sd-structure.test.ts), plus the largest per-step tensors at a resolution: the
 * residuals that cross the bus, and the attention scores of the UNet's first level (what a graph without fused
 * attention materialises). Weights are exact; activations are the largest single tensors, not a measured peak.
 *
 *   npx tsx scripts/gpu-memory.ts [--size 512x512] [--controlnets 3]
 */
import { parseArgs } from 'node:util';
import { buildTextEncoder } from './tiny-models/sd/clip-text-encoder.js';
import { SD15 } from './tiny-models/sd/config.js';
import { buildControlNet } from './tiny-models/sd/controlnet.js';
import { FP32_FORMAT } from './tiny-models/sd/formats.js';
import { buildUNet } from './tiny-models/sd/unet.js';
import { downResidualSlots } from './tiny-models/sd/unet-down-path.js';
import { buildVaeDecoder } from './tiny-models/sd/vae-decoder.js';
import { buildVaeEncoder } from './tiny-models/sd/vae-encoder.js';

const { values: args } = parseArgs({ options: { size: { type: 'string', default: '512x512' }, controlnets: { type: 'string', default: '3' } } });
const [width, height] = args.size!.split('x').map(Number) as [number, number];
const maxControlNets = Number(args.controlnets);
const none = { storage: 'none' as const };
const CLIP_VOCAB = 49408;
const CFG_BATCH = 2;

const params = {
  text_encoder: buildTextEncoder(SD15, FP32_FORMAT, CLIP_VOCAB, none).paramCount,
  unet: buildUNet(SD15, FP32_FORMAT, none).paramCount,
  vae_decoder: buildVaeDecoder(SD15, FP32_FORMAT, none).paramCount,
  vae_encoder: buildVaeEncoder(SD15, FP32_FORMAT, none).paramCount,
  controlnet: buildControlNet(SD15, FP32_FORMAT, none).paramCount,
};
const GiB = 2 ** 30;
const gib = (bytes: number) => (bytes / GiB).toFixed(2);
const base = params.text_encoder + params.unet + params.vae_decoder + params.vae_encoder;

console.log('| component | parameters | fp16 GiB | fp32 GiB |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, count] of Object.entries(params)) console.log(`| ${name} | ${count.toLocaleString('en')} | ${gib(2 * count)} | ${gib(4 * count)} |`);
console.log('');
console.log('| model set (weights) | parameters | fp16 GiB | fp32 GiB |');
console.log('| --- | ---: | ---: | ---: |');
for (let n = 0; n <= maxControlNets; n++) {
  const count = base + n * params.controlnet;
  console.log(`| SD 1.5 base + ${n} ControlNet${n === 1 ? '' : 's'} | ${count.toLocaleString('en')} | ${gib(2 * count)} | ${gib(4 * count)} |`);
}

const lh = Math.ceil(height / 8);
const lw = Math.ceil(width / 8);
const side = (n: number, level: number): number => (level === 0 ? n : Math.ceil(side(n, level - 1) / 2));
const slots = [...downResidualSlots(SD15.unet), { channels: 1280, level: 3 }];
const residualElements = slots.reduce((sum, s) => sum + CFG_BATCH * s.channels * side(lh, s.level) * side(lw, s.level), 0);
const tokens = lh * lw;
const heads = SD15.unet.attentionHeads[0]!;
const scores = CFG_BATCH * heads * tokens * tokens;
const vaeTokens = lh * lw; // the VAE mid block attends over the latent grid, one head
console.log('');
console.log(`| per step at ${width}x${height}, CFG batch 2 | elements | fp16 MiB | fp32 MiB |`);
console.log('| --- | ---: | ---: | ---: |');
const row = (label: string, n: number) =>
  console.log(`| ${label} | ${n.toLocaleString('en')} | ${((2 * n) / 2 ** 20).toFixed(0)} | ${((4 * n) / 2 ** 20).toFixed(0)} |`);
row('ControlNet residuals (13 tensors, per ControlNet)', residualElements);
row(`UNet level-0 self-attention scores (${heads} heads × ${tokens}²)`, scores);
row(`VAE decoder mid-block attention scores (1 × ${vaeTokens}², batch 1)`, vaeTokens * vaeTokens);
row('VAE decoder last level activation (128 × H × W, batch 1)', 128 * width * height);
