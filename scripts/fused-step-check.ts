/**
 * Checks the fused step graph on a model folder (meant for the SD 1.5-width random set, whose merged weights pass
 * protobuf's 2 GiB limit and go through in-memory external data): the same job through the separate sessions and
 * through the fused graph, and the largest pixel difference between the two images.
 *
 *   npx tsx scripts/gen-tiny-models.ts --config sd15 --only fp32 --controlnets canny --out /tmp/sd15
 *   npx tsx scripts/fused-step-check.ts --model /tmp/sd15/sd15-random [--controlnets canny] [--size 64x64] [--steps 1]
 *       [--guess-mode] [--threads 0]
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generate } from '../src/pipeline/generate.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { scanModels } from '../src/runtime/catalog.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/sd15/sd15-random' },
    controlnets: { type: 'string', default: 'canny' },
    size: { type: 'string', default: '64x64' },
    steps: { type: 'string', default: '1' },
    'guess-mode': { type: 'boolean', default: false },
    threads: { type: 'string', default: '0' },
  },
});

async function main() {
  const dir = path.resolve(args.model!);
  const catalog = await scanModels(path.dirname(dir));
  const model = catalog.models.get(path.basename(dir));
  if (!model) throw new Error(`no model in ${dir}`);
  const available = catalog.controlnets.get(model.id)!;
  const [width, height] = args.size!.split('x').map(Number) as [number, number];
  const picture = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 251);
  const spec = {
    id: 'check',
    model,
    autoHint: false,
    guessMode: args['guess-mode']!,
    prompt: 'a house by a lake',
    negativePrompt: '',
    controlnets: args.controlnets!.split(',').map((name, k) => ({
      name,
      type: name,
      modelPath: available.get(name)!,
      conditioningScale: 0.8 - 0.3 * k,
      image: { data: picture, width, height, channels: 3 as const },
    })),
    initImage: null,
    maskImage: null,
    strength: 1,
    width,
    height,
    samples: 1,
    steps: Number(args.steps),
    guidanceScale: 7.5,
    scheduler: 'EulerDiscreteScheduler',
    useKarrasSigmas: false,
    algorithmType: null,
    seed: 7n,
    hint: { detectResolution: width, lowThreshold: 100, highThreshold: 200 },
  };
  // One set of sessions for both runs (the fused graph holds a copy of the weights besides them).
  const sessions = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: Number(args.threads), fusedStep: 'off' });
  const rss = () => `${(process.memoryUsage().rss / 2 ** 30).toFixed(1)} GiB rss`;
  let t = performance.now();
  const separate = await generate(spec, sessions);
  console.log(`separate: ${(performance.now() - t).toFixed(0)} ms, ${rss()}`);
  sessions.settings.fusedStep = 'on';
  t = performance.now();
  const fused = await generate(spec, sessions);
  console.log(
    `fused (${fused.stepGraph}; build + run): ${(performance.now() - t).toFixed(0)} ms, ${rss()}${fused.warnings.length ? `; ${fused.warnings.join('; ')}` : ''}`,
  );
  t = performance.now();
  const again = await generate(spec, sessions);
  console.log(`fused again (cached): ${(performance.now() - t).toFixed(0)} ms`);
  const [a, b, c] = await Promise.all([separate, fused, again].map((r) => sharp(r.images[0]!).raw().toBuffer()));
  let max = 0;
  for (let i = 0; i < a!.length; i++) max = Math.max(max, Math.abs(a![i]! - b![i]!));
  console.log(
    `largest pixel difference fused vs separate: ${max}/255; fused runs identical: ${b!.equals(c!)}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  await sessions.release();
  if (max > 1 || fused.stepGraph !== 'fused') process.exit(1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
