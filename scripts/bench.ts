/**
 * Times whole generations (generate(), in this process) on a model folder and splits the latency into time inside
 * each model's run() and the pipeline's own overhead (end-to-end − Σ run()).
 *
 *   npx tsx scripts/bench.ts [--model tiny-sd15] [--models-dir models] [--size 512x512] [--steps 20]
 *       [--scheduler UniPCMultistepScheduler] [--controlnets canny] [--samples 1] [--guidance 7.5] [--guess-mode]
 *       [--strength 1] [--auto-hint] [--runs 5] [--warmup 1] [--provider cpu] [--threads 0] [--json FILE]
 *
 * --model is a model id in --models-dir or a model folder's path. Each ControlNet gets the same synthetic picture
 * as its hint (no preprocessing). Prints a markdown table of medians and minimums over --runs runs that follow
 * --warmup discarded runs; --json also writes the numbers.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { generate } from '../src/pipeline/generate.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import type { GenerationResult, GenerationSpec } from '../src/domain/index.js';
import { scanModels } from '../src/runtime/catalog.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny-sd15' },
    'models-dir': { type: 'string', default: 'models' },
    size: { type: 'string', default: '512x512' },
    steps: { type: 'string', default: '20' },
    scheduler: { type: 'string', default: 'UniPCMultistepScheduler' },
    controlnets: { type: 'string', default: 'canny' },
    samples: { type: 'string', default: '1' },
    guidance: { type: 'string', default: '7.5' },
    'guess-mode': { type: 'boolean', default: false },
    // The hosted API's example: img2img from the picture at this strength, hints computed by the preprocessor.
    strength: { type: 'string', default: '1' },
    'auto-hint': { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    provider: { type: 'string', default: 'cpu' },
    'device-id': { type: 'string', default: '0' },
    threads: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});

function positiveInt(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes an integer >= ${min}, not "${value}"`);
  return n;
}

const [width, height] = (/^(\d+)x(\d+)$/.exec(args.size!) ?? []).slice(1).map(Number);
if (!width || !height || width % 8 || height % 8) throw new Error(`--size takes WIDTHxHEIGHT in multiples of 8, not "${args.size}"`);
const steps = positiveInt('steps', args.steps!);
const runs = positiveInt('runs', args.runs!);
const warmups = positiveInt('warmup', args.warmup!, 0);
const samples = positiveInt('samples', args.samples!);
const threads = positiveInt('threads', args.threads!, 0);

/** --model as an id in --models-dir, or a folder (its parent is scanned, so shared ControlNets are found). */
async function resolveModel() {
  const isPath = args.model!.includes('/') || args.model!.startsWith('.');
  const modelsDir = isPath ? path.dirname(path.resolve(args.model!)) : path.resolve(args['models-dir']!);
  const id = isPath ? path.basename(path.resolve(args.model!)) : args.model!;
  const catalog = await scanModels(modelsDir);
  const model = catalog.models.get(catalog.aliases.get(id) ?? id);
  if (!model) {
    const why = catalog.rejected.map((r) => `${r.dir}: ${r.reason}`).join('; ');
    throw new Error(`no model "${id}" in ${modelsDir} (found: ${[...catalog.models.keys()].join(', ') || 'none'}${why ? `; rejected: ${why}` : ''})`);
  }
  const available = catalog.controlnets.get(model.id) ?? new Map<string, string>();
  const names = args.controlnets!.split(',').map((s) => s.trim()).filter(Boolean);
  const controlnets = names.map((name) => {
    const file = available.get(name);
    if (!file) throw new Error(`no ControlNet "${name}" for ${model.id} (available: ${[...available.keys()].join(', ')})`);
    return { name, file };
  });
  return { model, controlnets };
}

/** A picture with edges and gradients, the same for every run. */
function hintPicture(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 3 * (y * w + x);
      const inside = x > w * 0.2 && x < w * 0.6 && y > h * 0.25 && y < h * 0.75;
      data[o] = inside ? 230 : (255 * x) / w;
      data[o + 1] = inside ? 220 : (255 * y) / h;
      data[o + 2] = inside ? 40 : 128;
    }
  }
  return { data, width: w, height: h, channels: 3 as const };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]) => Math.min(...xs);

interface RunNumbers {
  totalMs: number;
  stepMs: number;
  runMs: Record<string, number>;
  providers: Record<string, string>;
}

async function main() {
  const { model, controlnets } = await resolveModel();
  const sessions = new ModelSessions({ providers: [args.provider!], deviceId: Number(args['device-id']), threads });
  const image = hintPicture(width!, height!);
  const spec = (seed: number): GenerationSpec => ({
    id: String(seed),
    model,
    controlnets: controlnets.map((c) => ({ name: c.name, type: c.name, modelPath: c.file, conditioningScale: 0.8, image })),
    autoHint: args['auto-hint']!,
    guessMode: args['guess-mode']!,
    prompt: 'a photo of a red brick house by a lake, golden hour, detailed',
    negativePrompt: 'blurry, low quality',
    initImage: Number(args.strength) < 1 ? image : null,
    maskImage: null,
    strength: Number(args.strength),
    width: width!,
    height: height!,
    samples,
    steps,
    guidanceScale: Number(args.guidance),
    scheduler: args.scheduler!,
    useKarrasSigmas: false,
    algorithmType: null,
    seed: BigInt(seed),
    hint: { detectResolution: Math.min(width!, height!), lowThreshold: 100, highThreshold: 200 },
  });

  const loadStart = performance.now();
  await sessions.preload(model, controlnets.map((c) => c.file));
  const loadMs = performance.now() - loadStart;
  const fallbacks = [...new Set((await sessions.loaded()).flatMap((l) => l.fallbacks.map((f) => `${f.provider}: ${f.reason}`)))];

  const measured: RunNumbers[] = [];
  let last: GenerationResult | null = null;
  for (let i = 0; i < warmups + runs; i++) {
    const stepTimes: number[] = [];
    let previous = performance.now();
    const started = previous;
    last = await generate(spec(1000 + i), sessions, () => {
      const now = performance.now();
      stepTimes.push(now - previous);
      previous = now;
    });
    const totalMs = performance.now() - started;
    // The first interval also holds prompt encoding and latents; the rest are steps alone.
    const stepMs = stepTimes.length > 1 ? median(stepTimes.slice(1)) : stepTimes[0]!;
    if (i >= warmups) measured.push({ totalMs, stepMs, runMs: { ...last.timings.runMs }, providers: last.providers });
  }

  const labels = [...new Set(measured.flatMap((m) => Object.keys(m.runMs)))];
  const sumRun = (m: RunNumbers) => Object.values(m.runMs).reduce((a, b) => a + b, 0);
  const overhead = (m: RunNumbers) => m.totalMs - sumRun(m);
  const rows: [string, number[]][] = [
    ['end to end', measured.map((m) => m.totalMs)],
    ['per denoising step', measured.map((m) => m.stepMs)],
    ...labels.map((l) => [`run(): ${l}`, measured.map((m) => m.runMs[l] ?? 0)] as [string, number[]]),
    ['Σ run()', measured.map(sumRun)],
    ['overhead (end to end − Σ run())', measured.map(overhead)],
  ];
  const share = median(measured.map((m) => (100 * overhead(m)) / m.totalMs));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const providers = [...new Set(Object.values(last!.providers))].join('+');
  console.log(`machine: ${os.cpus().length} CPUs (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; onnxruntime-node ${ort.env.versions.common}`);
  console.log(`model ${model.id} (${model.layout}) + ${controlnets.map((c) => c.name).join(', ') || 'no ControlNet'}; ${width}x${height}, ${steps} steps ${args.scheduler}, samples ${samples}, guidance ${args.guidance}${args['guess-mode'] ? ', guess mode' : ''}`);
  console.log(`provider: ${args.provider} requested, ${providers} ran; threads ${threads || 'default'}; sessions opened in ${loadMs.toFixed(0)} ms; ${runs} runs after ${warmups} warm-up`);
  for (const f of fallbacks) console.log(`fallback: ${f}`);
  console.log('');
  console.log('| what | median ms | min ms |');
  console.log('| --- | ---: | ---: |');
  for (const [label, xs] of rows) console.log(`| ${label} | ${median(xs).toFixed(1)} | ${min(xs).toFixed(1)} |`);
  console.log(`| overhead share | ${share.toFixed(2)} % | |`);
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify({ model: model.id, width, height, steps, samples, controlnets: controlnets.map((c) => c.name), provider: args.provider, providers: last!.providers, loadMs, runs: measured }, null, 2)}\n`);
  }
  await sessions.release();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
