/**
 * Times the ResidualMixer per denoising step at SD 1.5's residual sizes (512x512, CFG batch 2: 13.4 M elements over
 * the 13 residuals): the JS work between ControlNet and UNet that the pipeline overhead is made of.
 *
 *   npx tsx scripts/bench-residual-mix.ts [--size 512] [--runs 9]
 *
 * Prints a markdown table of medians (and min) per mix() call, after two warm-up calls.
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { guessModeScales } from '../src/pipeline/model-description.js';
import { ResidualMixer, type ResidualContribution } from '../src/pipeline/residuals.js';
import { float32ToFloat16 } from '../src/tensor/float16.js';

const { values: args } = parseArgs({ options: { size: { type: 'string', default: '512' }, runs: { type: 'string', default: '9' } } });
const latent = Number(args.size) / 8;
const RUNS = Number(args.runs);
const CHANNELS = [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280];
const side = (level: number) => Math.ceil(latent / 2 ** level);
/** SD 1.5's residual levels and guess-mode scales. */
const RESIDUAL_LEVELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3];
const SD15 = { levels: RESIDUAL_LEVELS, guessScales: guessModeScales(13) };

function outputs(batch: number, type: 'float32' | 'float16', pooled = false): ort.Tensor[] {
  return CHANNELS.map((c, r) => {
    const dims = pooled ? [batch, c, 1, 1] : [batch, c, side(RESIDUAL_LEVELS[r]!), side(RESIDUAL_LEVELS[r]!)];
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001));
    return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
  });
}

const elements = outputs(2, 'float16').reduce((sum, t) => sum + t.size, 0);
const cases: [string, ResidualMixer, ResidualContribution[]][] = [
  [
    '1 ControlNet, scale in the graph (pass-through)',
    new ResidualMixer('float16', false, 1, { height: latent, width: latent }, SD15),
    [{ outputs: outputs(2, 'float16'), scale: 1 }],
  ],
  [
    '1 float16 ControlNet, scale 0.8 in JS',
    new ResidualMixer('float16', false, 1, { height: latent, width: latent }, SD15),
    [{ outputs: outputs(2, 'float16'), scale: 0.8 }],
  ],
  [
    '1 float16 ControlNet, guess mode',
    new ResidualMixer('float16', true, 2, { height: latent, width: latent }, SD15),
    [{ outputs: outputs(1, 'float16'), scale: 1 }],
  ],
  [
    '2 float16 ControlNets (summed by onnxruntime)',
    new ResidualMixer('float16', false, 1, { height: latent, width: latent }, SD15),
    [
      { outputs: outputs(2, 'float16'), scale: 0.8 },
      { outputs: outputs(2, 'float16'), scale: 0.5 },
    ],
  ],
  [
    '1 float32 ControlNet, scale 0.8 in JS',
    new ResidualMixer('float32', false, 1, { height: latent, width: latent }, SD15),
    [{ outputs: outputs(2, 'float32'), scale: 0.8 }],
  ],
  [
    '2 float32 ControlNets',
    new ResidualMixer('float32', false, 1, { height: latent, width: latent }, SD15),
    [
      { outputs: outputs(2, 'float32'), scale: 0.8 },
      { outputs: outputs(2, 'float32'), scale: 0.5 },
    ],
  ],
  [
    'pooled float16 ControlNet (shuffle), guess mode',
    new ResidualMixer('float16', true, 2, { height: latent, width: latent }, SD15),
    [{ outputs: outputs(1, 'float16', true), scale: 1 }],
  ],
];

console.log(
  `ResidualMixer.mix() per step, ${8 * latent}x${8 * latent} (${(elements / 1e6).toFixed(1)} M residual elements at batch 2), ${RUNS} runs after 2 warm-up`,
);
console.log('');
console.log('| case | median ms | min ms |');
console.log('| --- | ---: | ---: |');
for (const [label, mixer, contributions] of cases) {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t = performance.now();
    await mixer.mix(contributions);
    if (i >= 2) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${label} | ${times[Math.floor(times.length / 2)]!.toFixed(1)} | ${times[0]!.toFixed(1)} |`);
}
