/**
 * Why the project's run() calls can be slower than plain onnxruntime-node calls of the same graph: one factor at a
 * time, on one UNet or ControlNet, A/B interleaved call by call in one process (a busy machine slows every variant
 * alike; the ratios to the first variant are medians of per-round ratios).
 *
 *   npx tsx scripts/bench-session-options.ts --model /tmp/sd15/sd15-random [--controlnets canny] [--graph unet|controlnet|vae_decoder]
 *       [--size 128x128] [--steps 10] [--threads 2] [--rounds 8] [--variants project:real,plain:real,plain:const]
 *
 * Feeds: `real` are the ones the pipeline gave this graph at the middle denoising step of one generation (copied);
 * `const` are the floor's in scripts/bench.ts (latents 0.5, ids 500, timestep 500). Sessions: `project` opens through
 * openSession() with the project's settings (src/runtime/session.ts), `cached` opens through openSession() from the optimised-graph
 * cache (written first, in a temporary folder), `plain` is ort.InferenceSession.create with only intraOpNumThreads, `ftz` is plain plus session.set_denormal_as_zero. Prints how many denormal floats each
 * feed set holds and each variant's median ms per call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import type { GenerationSpec } from '../src/domain/index.js';
import { scanModels } from '../src/runtime/catalog.js';
import { openSession } from '../src/runtime/session.js';
import { generate } from '../src/pipeline/generate.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { SessionRunner, type Feeds } from '../src/pipeline/session-runner.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    controlnets: { type: 'string', default: 'canny' },
    graph: { type: 'string', default: 'unet' },
    size: { type: 'string', default: '128x128' },
    steps: { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '8' },
    variants: { type: 'string', default: 'project:real,plain:real,plain:const,project:const' },
  },
});
if (!args.model) throw new Error('--model takes a model folder (e.g. /tmp/sd15/sd15-random)');
const [width, height] = args.size!.split('x').map(Number) as [number, number];
const steps = Number(args.steps);
const threads = Number(args.threads);
const rounds = Number(args.rounds);
const GRAPHS = ['unet', 'controlnet', 'vae_decoder'] as const;
const label = GRAPHS.find((g) => g === args.graph);
if (!label) throw new Error(`--graph takes ${GRAPHS.join(', ')}, not "${args.graph}"`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function copy(feeds: Feeds): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type, (t.data as Float32Array).slice(), t.dims);
  return out;
}

/** Denormal float32 values (0 < |x| < 2^-126) in a feed set. */
function denormals(feeds: Feeds): number {
  let n = 0;
  for (const t of Object.values(feeds)) {
    if (t.type !== 'float32') continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i]!);
      if (a > 0 && a < 1.1754943508222875e-38) n++;
    }
  }
  return n;
}

/** The floor's feeds (scripts/bench.ts): same names, shapes and types as `real`, constant values. */
function constFeeds(real: Feeds): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(real)) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.type === 'int64') out[name] = new ort.Tensor('int64', new BigInt64Array(n).fill(500n), t.dims);
    else if (t.type === 'float32') out[name] = new ort.Tensor('float32', new Float32Array(n).fill(0.5), t.dims);
    else out[name] = t;
  }
  return out;
}

async function main() {
  const modelDir = path.resolve(args.model!);
  const catalog = await scanModels(path.dirname(modelDir));
  const model = catalog.models.get(path.basename(modelDir));
  if (!model) throw new Error(`no model in ${modelDir}`);
  const cnFile = catalog.controlnets.get(model.id)?.get(args.controlnets!);
  if (!cnFile) throw new Error(`no ControlNet ${args.controlnets}`);
  const file = label === 'unet' ? model.unet : label === 'vae_decoder' ? model.vaeDecoder : cnFile;

  // 1. The real feeds: one generation, the feeds of this graph's run() at the middle step copied.
  const settings = { providers: ['cpu'], deviceId: 0, threads, fusedStep: 'off' as const };
  const sessions = new ModelSessions(settings);
  let seen = 0;
  let real: Feeds | null = null;
  const original = SessionRunner.prototype.run;
  SessionRunner.prototype.run = function (this: SessionRunner, l: string, s: ort.InferenceSession, feeds: Feeds) {
    if (l === label && seen++ === (label === 'vae_decoder' ? 0 : Math.floor(steps / 2))) real = copy(feeds);
    return original.call(this, l, s, feeds);
  };
  const image = { data: new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 251), width, height, channels: 3 as const };
  const spec: GenerationSpec = {
    id: 'capture',
    model,
    controlnets: [{ name: args.controlnets!, type: args.controlnets!, modelPath: cnFile, conditioningScale: 0.8, image }],
    autoHint: false,
    guessMode: false,
    prompt: 'a photo of a red brick house by a lake, golden hour, detailed',
    negativePrompt: 'blurry, low quality',
    initImage: null,
    maskImage: null,
    strength: 1,
    width,
    height,
    samples: 1,
    steps,
    guidanceScale: 7.5,
    scheduler: 'EulerDiscreteScheduler',
    useKarrasSigmas: false,
    algorithmType: null,
    seed: 1234n,
    hint: { detectResolution: Math.min(width, height), lowThreshold: 100, highThreshold: 200 },
  };
  await generate(spec, sessions, () => {});
  SessionRunner.prototype.run = original;
  await sessions.release();
  if (!real) throw new Error(`no ${label} run captured`);
  const feedSets: Record<string, Feeds> = { real, const: constFeeds(real) };
  for (const [k, f] of Object.entries(feedSets)) console.log(`feeds ${k}: ${denormals(f)} denormal float32 values`);

  // 2. One session per kind named in --variants.
  const variants = args.variants!.split(',').map((v) => v.trim().split(':') as [string, string]);
  const kinds = [...new Set(variants.map(([k]) => k))];
  const opened: Record<string, ort.InferenceSession> = {};
  const cleanup: string[] = [];
  for (const kind of kinds) {
    if (kind === 'project') opened[kind] = (await openSession(file, settings)).session;
    else if (kind === 'cached') {
      // The graph cache's path (src/runtime/graph-cache.ts): optimised and saved once, then opened from the saved graph.
      const graphCacheDir = await mkdtemp(path.join(os.tmpdir(), 'bench-graph-cache-'));
      cleanup.push(graphCacheDir);
      await (await openSession(file, { ...settings, graphCacheDir })).session.release();
      const second = await openSession(file, { ...settings, graphCacheDir });
      if (second.fromGraphCache !== true) throw new Error('the second session did not open from the graph cache');
      opened[kind] = second.session;
    } else if (kind === 'plain') opened[kind] = await ort.InferenceSession.create(file, { intraOpNumThreads: threads });
    else if (kind === 'ftz')
      opened[kind] = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, extra: { session: { set_denormal_as_zero: '1' } } });
    else throw new Error(`unknown session kind ${kind}`);
  }

  // 3. Interleaved: one call of each variant per round, after one untimed call of each.
  // CPU time (all threads of the process) as well as wall time: on a loaded machine it moves far less.
  const times = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]);
  for (let r = -1; r < rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [kind, feeds] = variants[v]!;
      const t = performance.now();
      const c = process.cpuUsage();
      await opened[kind]!.run(feedSets[feeds]!);
      const used = process.cpuUsage(c);
      if (r >= 0) {
        times[v]!.push(performance.now() - t);
        cpu[v]!.push((used.user + used.system) / 1000);
      }
    }
  }
  console.log(
    `${label} ${path.basename(file)} at ${width}x${height}, ${threads} threads, ${rounds} rounds; load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log('| variant | wall ms, median | wall ratio to first | CPU ms, median | CPU ratio to first |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  variants.forEach(([kind, feeds], v) => {
    const ratio = (xs: number[][]) => median(xs[v]!.map((x, i) => x / xs[0]![i]!)).toFixed(3);
    console.log(`| ${kind} session, ${feeds} feeds | ${median(times[v]!).toFixed(1)} | ${ratio(times)} | ${median(cpu[v]!).toFixed(1)} | ${ratio(cpu)} |`);
  });
  await Promise.all(Object.values(opened).map((s) => s.release()));
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
