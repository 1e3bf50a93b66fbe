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
 * --warmup discarded runs; --json also writes the numbers. --step-graph runs the fused step graph and/or the separate
 * sessions, interleaved (one column each), with the bytes crossing between host and runtime per step; --floor adds
 * plain onnxruntime-node calls of the same graphs and the ratio end to end / floor.
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
    // fused, separate or both (A/B interleaved): the fused ControlNets + UNet step graph, or separate sessions;
    // none: only the --floor (where memory does not hold both, as SD 1.5 widths on a 24 GiB box).
    'step-graph': { type: 'string', default: 'fused,separate' },
    // Also time plain onnxruntime-node sessions of the same graphs (default options), back to back: the floor.
    floor: { type: 'boolean', default: false },
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
  const names = args
    .controlnets!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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
  /** Process CPU time (user + system, all threads) over the run: far steadier than wall time on a shared machine. */
  cpuMs: number;
  stepMs: number;
  runMs: Record<string, number>;
  /** Bytes of feeds and outputs per denoising step (ControlNets, UNet, fused step). */
  stepBytes: number;
  providers: Record<string, string>;
  stepGraph: string;
}

type Mode = 'fused' | 'separate';
const STEP_LABELS = ['controlnet', 'unet', 'fused_step'];

/**
 * The floor: plain onnxruntime-node sessions of the same graph files, created with default options (plus
 * --threads), run back to back with the same shapes — text encoder once, ControlNets and UNet per step, the
 * ControlNets' outputs fed to the UNet as they come, VAE decoder once. No scheduler, no mixing, no copies.
 */
async function openFloor(model: { unet: string; textEncoder: string; vaeDecoder: string }, controlnets: readonly string[]): Promise<FloorSessions> {
  const options: ort.InferenceSession.SessionOptions = threads > 0 ? { intraOpNumThreads: threads } : {};
  const open = (file: string) => ort.InferenceSession.create(file, options);
  const [te, unet, vae, ...cns] = await Promise.all([open(model.textEncoder), open(model.unet), open(model.vaeDecoder), ...controlnets.map(open)]);
  return { te: te!, unet: unet!, vae: vae!, cns };
}

interface FloorNumbers {
  totalMs: number;
  cpuMs: number;
  runMs: Record<string, number>;
}

interface FloorSessions {
  te: ort.InferenceSession;
  unet: ort.InferenceSession;
  vae: ort.InferenceSession;
  cns: ort.InferenceSession[];
}

/**
 * The floor's sessions are opened once, before the loop, and warmed up by the same --warmup runs as the project's:
 * opened afresh in every loop (as before), each of its timed runs included four first-of-session run() calls.
 */
async function plainFloor({ te, unet, vae, cns }: FloorSessions, loops: number): Promise<FloorNumbers[]> {
  const feedsFor = (s: ort.InferenceSession, given: Record<string, ort.Tensor>): Record<string, ort.Tensor> => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const m of s.inputMetadata) {
      if (given[m.name]) {
        feeds[m.name] = given[m.name]!;
        continue;
      }
      if (!m.isTensor) throw new Error(`floor: ${m.name} is not a tensor`);
      const shape = m.shape.map((d) => (typeof d === 'number' ? d : 0));
      feeds[m.name] = zeros(m.type, shape);
    }
    return feeds;
  };
  const batch = Number(args.guidance) > 1 ? 2 * samples : samples;
  const lh = height! / 8;
  const lw = width! / 8;
  /** A tensor of zeros; symbolic dims resolved by role: batch first, then the latent or image size. */
  const zeros = (type: string, shape: number[]): ort.Tensor => {
    const dims = shape.map((d, i) => (d > 0 ? d : i === 0 ? batch : i === 1 ? 77 : shape.length === 4 ? (i === 2 ? lh : lw) : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(n).fill(500n), dims);
    if (type === 'int32') return new ort.Tensor('int32', new Int32Array(n).fill(1), dims);
    if (type === 'float16') return new ort.Tensor('float16', new Uint16Array(n), dims);
    return new ort.Tensor('float32', new Float32Array(n).fill(0.5), dims);
  };
  const latentDims = [batch, 4, lh, lw];
  const totals: FloorNumbers[] = [];
  for (let loop = 0; loop < loops; loop++) {
    const runMs: Record<string, number> = {};
    /** run() timed under the pipeline's labels, so the floor's calls line up with the project's run() rows. */
    const timed = async (label: string, s: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => {
      const t = performance.now();
      const out = await s.run(feeds);
      runMs[label] = (runMs[label] ?? 0) + performance.now() - t;
      return out;
    };
    const started = performance.now();
    const cpu = process.cpuUsage();
    const ids = te.inputMetadata[0]!;
    const text = await timed('text_encoder', te, { [ids.name]: zeros(ids.isTensor ? ids.type : 'int64', [batch, 77]) });
    const hidden = Object.values(text).find((t) => t.dims.length === 3)!;
    for (let step = 0; step < steps; step++) {
      const residuals: Record<string, ort.Tensor> = {};
      for (const cn of cns) {
        const hint = cn.inputMetadata.find((m) => m.isTensor && m.shape.length === 4 && m.shape[1] === 3)!;
        const sample = cn.inputMetadata.find((m) => m.isTensor && m.shape.length === 4 && m !== hint)!;
        const hiddenIn = cn.inputMetadata.find((m) => m.isTensor && m.shape.length === 3)!;
        const out = await timed(
          'controlnet',
          cn,
          feedsFor(cn, {
            [sample.name]: zeros(sample.isTensor ? sample.type : 'float32', latentDims),
            [hint.name]: zeros(hint.isTensor ? hint.type : 'float32', [batch, 3, height!, width!]),
            [hiddenIn.name]: hidden,
          }),
        );
        Object.values(out).forEach((t, i) => (residuals[i] = t));
      }
      const fourD = unet.inputMetadata.filter((m) => m.isTensor && m.shape.length === 4);
      const given: Record<string, ort.Tensor> = {};
      fourD.forEach((m, i) => {
        if (i === 0) given[m.name] = zeros(m.isTensor ? m.type : 'float32', latentDims);
        else if (residuals[i - 1]) given[m.name] = residuals[i - 1]!;
      });
      const hiddenIn = unet.inputMetadata.find((m) => m.isTensor && m.shape.length === 3)!;
      given[hiddenIn.name] = hidden;
      await timed('unet', unet, feedsFor(unet, given));
    }
    const vaeIn = vae.inputMetadata[0]!;
    await timed('vae_decoder', vae, { [vaeIn.name]: zeros(vaeIn.isTensor ? vaeIn.type : 'float32', [samples, 4, lh, lw]) });
    const used = process.cpuUsage(cpu);
    totals.push({ totalMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000, runMs });
  }
  return totals;
}

async function main() {
  const { model, controlnets } = await resolveModel();
  const modes = (args['step-graph'] === 'none' ? [] : args['step-graph']!.split(',').map((m) => m.trim())) as Mode[];
  if (modes.length === 0 && !args.floor) throw new Error('--step-graph none needs --floor (nothing else to time)');
  for (const m of modes) if (m !== 'fused' && m !== 'separate') throw new Error(`--step-graph takes fused and/or separate, not "${m}"`);
  // One set of sessions for both modes (the fused graph adds its own copy of the weights); FUSED_STEP per run.
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
  if (modes.length > 0)
    await sessions.preload(
      model,
      controlnets.map((c) => c.file),
    );
  const loadMs = performance.now() - loadStart;
  const fallbacks = [...new Set((await sessions.loaded()).flatMap((l) => l.fallbacks.map((f) => `${f.provider}: ${f.reason}`)))];

  // A/B interleaved in one process (and the floor in the same loop), so a busy machine slows every variant alike.
  const measured = new Map<Mode, RunNumbers[]>(modes.map((m) => [m, []]));
  const floor: FloorNumbers[] = [];
  const floorSessions = args.floor
    ? await openFloor(
        model,
        controlnets.map((c) => c.file),
      )
    : null;
  let last: GenerationResult | null = null;
  for (let i = 0; i < warmups + runs; i++) {
    for (const mode of modes) {
      sessions.settings.fusedStep = mode === 'fused' ? 'on' : 'off';
      const stepTimes: number[] = [];
      let previous = performance.now();
      const started = previous;
      const cpu = process.cpuUsage();
      last = await generate(spec(1000 + i), sessions, () => {
        const now = performance.now();
        stepTimes.push(now - previous);
        previous = now;
      });
      const totalMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      // The first interval also holds prompt encoding and latents; the rest are steps alone.
      const stepMs = stepTimes.length > 1 ? median(stepTimes.slice(1)) : stepTimes[0]!;
      const bytes = STEP_LABELS.reduce((sum, l) => sum + (last!.timings.runBytes?.[l] ?? 0), 0) / last.stepsRun;
      if (i >= warmups)
        measured.get(mode)!.push({
          totalMs,
          cpuMs,
          stepMs,
          runMs: { ...last.timings.runMs },
          stepBytes: bytes,
          providers: last.providers,
          stepGraph: last.stepGraph ?? 'separate',
        });
    }
    if (floorSessions) {
      const [t] = await plainFloor(floorSessions, 1);
      if (i >= warmups) floor.push(t!);
    }
  }

  const all = [...measured.values()].flat();
  const labels = [...new Set(all.flatMap((m) => Object.keys(m.runMs)))];
  const sumRun = (m: RunNumbers) => Object.values(m.runMs).reduce((a, b) => a + b, 0);
  const overhead = (m: RunNumbers) => m.totalMs - sumRun(m);
  const rows: [string, (m: RunNumbers) => number, number][] = [
    ['end to end', (m) => m.totalMs, 1],
    ['CPU time, end to end', (m) => m.cpuMs, 1],
    ['per denoising step', (m) => m.stepMs, 1],
    ...labels.map((l) => [`run(): ${l}`, (m: RunNumbers) => m.runMs[l] ?? 0, 1] as [string, (m: RunNumbers) => number, number]),
    ['Σ run()', sumRun, 1],
    ['overhead (end to end − Σ run())', overhead, 1],
    ['MB host ↔ runtime per step', (m) => m.stepBytes, 1e-6],
  ];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const providers = last ? [...new Set(Object.values(last.providers))].join('+') : 'cpu (floor only)';
  console.log(
    `machine: ${os.cpus().length} CPUs (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; node ${process.version}; onnxruntime-node ${ort.env.versions.common}`,
  );
  console.log(
    `model ${model.id} (${model.layout}) + ${controlnets.map((c) => c.name).join(', ') || 'no ControlNet'}; ${width}x${height}, ${steps} steps ${args.scheduler}, samples ${samples}, guidance ${args.guidance}${args['guess-mode'] ? ', guess mode' : ''}`,
  );
  console.log(
    `provider: ${args.provider} requested, ${providers} ran; threads ${threads || 'default'}; sessions opened in ${loadMs.toFixed(0)} ms; ${runs} runs after ${warmups} warm-up; step graphs: ${[...measured].map(([m, xs]) => `${m} → ${[...new Set(xs.map((x) => x.stepGraph))].join('/')}`).join(', ')}`,
  );
  for (const f of fallbacks) console.log(`fallback: ${f}`);
  console.log('');
  const cols = [...measured.keys()];
  console.log(cols.length > 0 ? `| what | ${cols.map((c) => `${c} median | ${c} min`).join(' | ')} |` : '| what | median ms | min ms |');
  console.log(`| --- | ${(cols.length > 0 ? cols : ['floor']).map(() => '---: | ---:').join(' | ')} |`);
  for (const [label, get, unit] of cols.length > 0 ? rows : []) {
    const cells = cols.map((c) => {
      const xs = measured.get(c)!.map(get);
      return `${(median(xs) * unit).toFixed(1)} | ${(min(xs) * unit).toFixed(1)}`;
    });
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
  if (cols.length > 0)
    console.log(
      `| overhead share | ${cols.map((c) => `${median(measured.get(c)!.map((m) => (100 * overhead(m)) / m.totalMs)).toFixed(2)} % | `).join(' | ')} |`,
    );
  const floorTotals = floor.map((f) => f.totalMs);
  if (floor.length > 0 && cols.length === 0) {
    console.log(`| plain onnxruntime-node calls (floor), end to end | ${median(floorTotals).toFixed(1)} | ${min(floorTotals).toFixed(1)} |`);
    console.log(`| floor CPU time | ${median(floor.map((f) => f.cpuMs)).toFixed(1)} | ${min(floor.map((f) => f.cpuMs)).toFixed(1)} |`);
  }
  if (floor.length > 0 && cols.length > 0) {
    const cell = (xs: number[]) => cols.map(() => `${median(xs).toFixed(1)} | ${min(xs).toFixed(1)}`).join(' | ');
    console.log(`| plain onnxruntime-node calls (floor) | ${cell(floorTotals)} |`);
    console.log(`| floor CPU time | ${cell(floor.map((f) => f.cpuMs))} |`);
    for (const label of Object.keys(floor[0]!.runMs)) console.log(`| floor run(): ${label} | ${cell(floor.map((f) => f.runMs[label] ?? 0))} |`);
    console.log(
      `| end to end / floor | ${cols.map((c) => `${(median(measured.get(c)!.map((m) => m.totalMs)) / median(floorTotals)).toFixed(3)} | `).join(' | ')} |`,
    );
    console.log(
      `| CPU time / floor CPU time | ${cols.map((c) => `${(median(measured.get(c)!.map((m) => m.cpuMs)) / median(floor.map((f) => f.cpuMs))).toFixed(3)} | `).join(' | ')} |`,
    );
    // Each run's project time over the floor time measured right after it: the pairs share the machine's load.
    console.log(
      `| end to end / floor, median of per-run ratios | ${cols.map((c) => `${median(measured.get(c)!.map((m, i) => m.totalMs / floorTotals[i]!)).toFixed(3)} | `).join(' | ')} |`,
    );
  }
  if (args.json) {
    const out = {
      model: model.id,
      width,
      height,
      steps,
      samples,
      controlnets: controlnets.map((c) => c.name),
      provider: args.provider,
      providers: last?.providers ?? {},
      loadMs,
      loadavg: os.loadavg(),
      runs: Object.fromEntries(measured),
      floorMs: floorTotals,
      floorRunMs: floor.map((f) => f.runMs),
      floorCpuMs: floor.map((f) => f.cpuMs),
    };
    writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
  }
  await sessions.release();
  if (floorSessions) await Promise.all([floorSessions.te, floorSessions.unet, floorSessions.vae, ...floorSessions.cns].map((s) => s.release()));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
