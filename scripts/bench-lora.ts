/**
 * What a LoRA costs: merging it into the UNet and the text encoder (read the graph and its weights, W += scale·up·down
 * in place), creating the merged sessions from memory, a repeated request with the same LoRA set (the cache:
 * nothing), a switch to another set (one merge + one session creation per graph), and the peak resident memory.
 * A seeded kohya LoRA of --rank covers every attention projection (q, k, v, out), the feed-forward layers and the
 * time-embedding projections of the UNet and every text-encoder layer.
 *
 *   npx tsx scripts/bench-lora.ts [--config tiny|sd15] [--variant fp32|fp16] [--rank 8] [--threads 2] [--runs 3]
 *                                 [--models-dir DIR]
 *
 * The model set is the generator's (`scripts/gen-tiny-models.ts --config <config> --only <variant>`), written to a
 * temporary folder and removed afterwards, or taken from --models-dir when it is already there (`sd15` in fp32 is
 * 3.3 GiB of UNet weights in external data; fp16 a 1.7 GB inline graph). Each run is a fresh Node process (so its
 * peak RSS is its own); the table gives the median of the runs (milliseconds) and the largest peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { weightTargets } from '../src/lora/graph-targets.js';
import { mergeLoraSet } from '../src/lora/lora-set.js';
import { onnx } from '../src/onnx/onnx.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { encodeSafetensors } from '../src/weights/safetensors.js';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'tiny' },
    variant: { type: 'string', default: 'fp32' },
    rank: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    'models-dir': { type: 'string' },
    // Internal: one measured run, in its own process.
    child: { type: 'string' },
  },
});

/** Phases of one run, in order, in milliseconds; `rss*` in bytes (peak so far, after the phase). */
interface RunResult {
  plain: number;
  mergeUnet: number;
  mergeTe: number;
  first: number;
  repeat: number;
  switched: number;
  back: number;
  rssPlain: number;
  rssMerge: number;
  rssPeak: number;
  /** Resident (not peak) after the first set, its merge buffers collected: the merged sessions themselves. */
  rssOpen: number;
  error?: string;
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;
/** Frees what a phase dropped before the next one (the merge buffers are garbage once the session is open). */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

async function child(spec: { unet: string; te: string; lora: string; threads: number }): Promise<RunResult> {
  const models = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: spec.threads });
  const timed = async (fn: () => Promise<unknown> | unknown) => {
    const start = performance.now();
    await fn();
    const ms = performance.now() - start;
    collect();
    return ms;
  };
  const both = (strength: number) => {
    const set = [{ name: 'bench', path: spec.lora, strength }];
    return Promise.all([models.unet(spec.unet, set), models.textEncoder(spec.te, set)]);
  };
  const set = [{ name: 'bench', path: spec.lora, strength: 1 }];
  // Merge alone (no session), per graph, first: the peak RSS so far is the merge's. The result is dropped.
  const mergeUnet = await timed(() => void mergeLoraSet(spec.unet, 'unet', set));
  const mergeTe = await timed(() => void mergeLoraSet(spec.te, 'text_encoder', set));
  const rssMerge = peakRss();
  const plain = await timed(() => Promise.all([models.unet(spec.unet), models.textEncoder(spec.te)]));
  await models.release();
  collect();
  const rssPlain = peakRss();
  const first = await timed(() => both(1));
  const rssOpen = process.memoryUsage.rss();
  const repeat = await timed(() => both(1));
  const switched = await timed(() => both(0.5));
  const back = await timed(() => both(1));
  await models.release();
  return { plain, mergeUnet, mergeTe, first, repeat, switched, back, rssPlain, rssMerge, rssOpen, rssPeak: peakRss() };
}

if (args.child) {
  const spec = JSON.parse(args.child) as { unet: string; te: string; lora: string; threads: number };
  const result = await child(spec).catch((err: Error) => ({ error: err.message.split('\n')[0], rssPeak: peakRss() }));
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

if (args.config !== 'tiny' && args.config !== 'sd15') throw new Error(`--config takes tiny or sd15, not "${args.config}"`);
if (args.variant !== 'fp32' && args.variant !== 'fp16') throw new Error(`--variant takes fp32 or fp16, not "${args.variant}"`);
const RANK = Number(args.rank);
const RUNS = Number(args.runs);
const scratch = mkdtempSync(join(tmpdir(), 'bench-lora-'));
const modelsDir = args['models-dir'] ?? join(scratch, 'models');
const folder = join(modelsDir, `${args.config === 'sd15' ? 'sd15-random' : 'tiny-sd15'}${args.variant === 'fp16' ? '-fp16' : ''}`);
const tsx = ['--import', 'tsx'];
const here = import.meta.dirname;

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * 0.02;
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  const unetPath = join(folder, 'unet', 'model.onnx');
  const tePath = join(folder, 'text_encoder', 'model.onnx');
  if (!existsSync(unetPath)) {
    const started = performance.now();
    const gen = spawnSync(
      process.execPath,
      [...tsx, join(here, 'gen-tiny-models.ts'), '--config', args.config, '--only', args.variant, '--controlnets', '', '--out', modelsDir],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (gen.status !== 0) throw new Error('the model set could not be generated');
    console.error(`model set written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  // A kohya LoRA over the attention, feed-forward and time-embedding layers of both graphs.
  const tensors: Parameters<typeof encodeSafetensors>[0] = {};
  let layers = 0;
  for (const [path, prefix, component] of [
    [unetPath, 'lora_unet_', 'unet'],
    [tePath, 'lora_te_', 'text_encoder'],
  ] as const) {
    const model = onnx.ModelProto.decode(readFileSync(path));
    for (const [key, target] of weightTargets(model, component)) {
      if (!/(to_[qkv]|to_out_0|ff_net_0_proj|ff_net_2|_proj|fc1|fc2)$/.test(key) || target.layout === 'conv') continue;
      const [a, b] = target.dims as [number, number];
      const [inF, outF] = target.layout === 'linear-in-out' ? [a, b] : [b, a];
      tensors[`${prefix}${key}.lora_down.weight`] = { dtype: 'F32', shape: [RANK, inF], data: seeded(RANK * inF, layers * 2 + 1) };
      tensors[`${prefix}${key}.lora_up.weight`] = { dtype: 'F32', shape: [outF, RANK], data: seeded(outF * RANK, layers * 2 + 2) };
      layers++;
    }
  }
  const loraPath = join(scratch, 'bench.safetensors');
  writeFileSync(loraPath, encodeSafetensors(tensors));
  for (const k of Object.keys(tensors)) delete tensors[k];

  const spec = JSON.stringify({ unet: unetPath, te: tePath, lora: loraPath, threads: Number(args.threads) });
  const results: RunResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    const out = spawnSync(process.execPath, ['--expose-gc', ...tsx, join(here, 'bench-lora.ts'), '--child', spec], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    });
    const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`run ${run + 1} ended without a result (exit ${out.status}, signal ${out.signal}: killed for memory?)`);
    const r = JSON.parse(line.slice('RESULT '.length)) as RunResult;
    console.error(`run ${run + 1}/${RUNS}: ${JSON.stringify(r)}`);
    results.push(r);
    if (r.error) break;
  }

  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;
  const ms = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  const col = (f: (r: RunResult) => number) => median(results.map(f));
  const maxOf = (f: (r: RunResult) => number) => Math.max(...results.map(f));
  const dataFile = join(folder, 'unet', 'model.onnx_data');
  const unetBytes = statSync(unetPath).size + (existsSync(dataFile) ? statSync(dataFile).size : 0);
  console.log(
    `\n${args.config} ${args.variant} (UNet ${gib(unetBytes)}${existsSync(dataFile) ? ', external data' : ', inline'}), LoRA rank ${RANK} on ${layers} layers, CPU, ${args.threads} threads, median of ${results.length} run(s)\n`,
  );
  if (results[0]?.error) {
    console.log(`failed: ${results[0].error} (peak RSS ${gib(results[0].rssPeak)})`);
  } else {
    console.log('| step | ms |\n| --- | ---: |');
    console.log(`| plain UNet + text encoder sessions (from files) | ${ms(col((r) => r.plain))} |`);
    console.log(`| merge into the UNet (read, W += scale·up·down in place) | ${ms(col((r) => r.mergeUnet))} |`);
    console.log(`| merge into the text encoder | ${ms(col((r) => r.mergeTe))} |`);
    console.log(`| first request with the LoRA set: merge + session creation, both graphs | ${ms(col((r) => r.first))} |`);
    console.log(`| repeated set (cached sessions) | ${ms(col((r) => r.repeat))} |`);
    console.log(`| switch to another strength: merge + session creation | ${ms(col((r) => r.switched))} |`);
    console.log(`| back to the first set (still cached: 2 variants per graph) | ${ms(col((r) => r.back))} |`);
    console.log(`\n| peak RSS (largest of the runs) | |\n| --- | ---: |`);
    console.log(`| the two merges alone (UNet, then text encoder; nothing else open) | ${gib(maxOf((r) => r.rssMerge))} |`);
    console.log(`| … then the plain sessions | ${gib(maxOf((r) => r.rssPlain))} |`);
    console.log(`| resident after the first set (its merged sessions open, merge buffers collected) | ${gib(maxOf((r) => r.rssOpen))} |`);
    console.log(`| whole run (at the switch: one merged variant per graph open, a second merged and created) | ${gib(maxOf((r) => r.rssPeak))} |`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
