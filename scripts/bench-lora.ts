/**
 * What a LoRA costs: merging it into the UNet and text encoder (read the graph, W += scale·up·down, serialize),
 * creating the merged sessions from memory, a repeated request with the same LoRA set (the cache: nothing), and a
 * switch to another set (one merge + one session creation per graph). A seeded kohya LoRA of --rank covers every
 * attention projection (q, k, v, out) and the feed-forward layers of the UNet and every text-encoder layer.
 *
 *   npx tsx scripts/bench-lora.ts [--config tiny|sd15] [--rank 8] [--threads 2]
 *
 * `tiny` is the built-in tiny UNet/text encoder (float32); `sd15` the SD 1.5 widths (float16 weights, as
 * export_onnx.py --fp16 writes them; needs about 8 GB of memory). Prints a Markdown table (milliseconds).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTextEncoder } from './tiny-models/sd/clip-text-encoder.js';
import { CONFIGS } from './tiny-models/sd/config.js';
import { FP16_FORMAT, FP32_FORMAT } from './tiny-models/sd/formats.js';
import { buildUNet } from './tiny-models/sd/unet.js';
import { weightTargets } from '../src/lora/graph-targets.js';
import { mergeLoraSet } from '../src/lora/lora-set.js';
import { saveModel } from '../src/onnx/model-file.js';
import { onnx } from '../src/onnx/onnx.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { encodeSafetensors } from '../src/weights/safetensors.js';

const { values: args } = parseArgs({
  options: { config: { type: 'string', default: 'tiny' }, rank: { type: 'string', default: '8' }, threads: { type: 'string', default: '2' } },
});
const config = CONFIGS[args.config as keyof typeof CONFIGS];
if (!config) throw new Error(`--config takes tiny or sd15, not "${args.config}"`);
const RANK = Number(args.rank);
const format = args.config === 'sd15' ? FP16_FORMAT : FP32_FORMAT;
const dir = mkdtempSync(join(tmpdir(), 'bench-lora-'));

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) * 0.02;
  }
  return out;
}

try {
  const unetPath = join(dir, 'unet', 'model.onnx');
  const tePath = join(dir, 'text_encoder', 'model.onnx');
  let t = performance.now();
  saveModel(buildUNet(config, format), unetPath);
  saveModel(buildTextEncoder(config, format, 1000), tePath);
  console.error(`graphs written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // A kohya LoRA over the attention and feed-forward layers of both graphs.
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
  const loraPath = join(dir, 'bench.safetensors');
  writeFileSync(loraPath, encodeSafetensors(tensors));

  const models = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: Number(args.threads) });
  const timed = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  const both = (strength: number) => {
    const set = [{ name: 'bench', path: loraPath, strength }];
    return Promise.all([models.unet(unetPath, set), models.textEncoder(tePath, set)]);
  };
  const plain = await timed(() => Promise.all([models.unet(unetPath), models.textEncoder(tePath)]));
  // Merge alone (no session), per graph.
  const set = [{ name: 'bench', path: loraPath, strength: 1 }];
  t = performance.now();
  mergeLoraSet(unetPath, 'unet', set);
  const mergeUnet = performance.now() - t;
  t = performance.now();
  mergeLoraSet(tePath, 'text_encoder', set);
  const mergeTe = performance.now() - t;
  const first = await timed(() => both(1));
  const repeat = await timed(() => both(1));
  const switched = await timed(() => both(0.5));
  const back = await timed(() => both(1));
  await models.release();
  const row = (what: string, ms: number) => `| ${what} | ${ms.toFixed(ms < 10 ? 2 : 0)} |`;
  console.log(
    `\n${args.config} (${format === FP16_FORMAT ? 'float16' : 'float32'} weights), LoRA rank ${RANK} on ${layers} layers, CPU, ${args.threads} threads\n`,
  );
  console.log('| step | ms |\n| --- | --- |');
  console.log(row('plain UNet + text encoder sessions (from files)', plain));
  console.log(row('merge into the UNet (read, W += scale·up·down, serialize)', mergeUnet));
  console.log(row('merge into the text encoder', mergeTe));
  console.log(row('first request with the LoRA set: merge + session creation, both graphs', first));
  console.log(row('repeated set (cached sessions)', repeat));
  console.log(row('switch to another strength: merge + session creation', switched));
  console.log(row('back to the first set (still cached: 2 variants per graph)', back));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
