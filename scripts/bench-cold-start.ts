/**
 * Cold start of a base model + ControlNets with and without the optimised-graph cache: each run is a fresh process
 * (nothing of onnxruntime warm in memory beyond the OS page cache) that opens the sessions as the server's preload
 * does, and prints how long that took and whether each session came from the cache.
 *
 *   npx tsx scripts/gen-tiny-models.ts --config sd15 --only fp32 --controlnets canny --out /tmp/sd15   # once
 *   npx tsx scripts/bench-cold-start.ts --model /tmp/sd15/sd15-random --controlnets canny --cache-dir /tmp/ort-cache --fresh
 *   npx tsx scripts/bench-cold-start.ts --model /tmp/sd15/sd15-random --controlnets canny --cache-dir /tmp/ort-cache
 *
 * --fresh empties the cache folder first (the first start); --cache-dir off opens without a cache. --sequential opens
 * the sessions one after another instead of all at once as the preload does: the two take the same time, because
 * onnxruntime-node 1.30 creates a session synchronously on the calling thread (its backend.js runs `loadModel` inside
 * a setImmediate), so sessions started together in one worker thread still open one at a time.
 *
 *   npx tsx scripts/bench-cold-start.ts --model models/tiny-sd15 --controlnets canny,depth [--sequential]
 *
 * --prime (with --cache-dir and --fresh) writes the cache's entries in parallel threads first (graph-cache-primer.ts),
 * as the preload does on CPU when the files to optimise weigh 256 MiB or more; the time printed includes it.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { scanModels } from '../src/runtime/catalog.js';
import { primeGraphCache } from '../src/runtime/graph-cache-primer.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    controlnets: { type: 'string', default: 'canny' },
    'cache-dir': { type: 'string', default: 'off' },
    fresh: { type: 'boolean', default: false },
    provider: { type: 'string', default: 'cpu' },
    threads: { type: 'string', default: '0' },
    sequential: { type: 'boolean', default: false },
    /** Write the cache's missing entries in parallel threads first, whatever their size (the preload does from 256 MiB). */
    prime: { type: 'boolean', default: false },
  },
});
if (!args.model) throw new Error('--model takes a model folder');
const folder = path.resolve(args.model);
const catalog = await scanModels(path.dirname(folder));
const model = catalog.models.get(path.basename(folder));
if (!model) throw new Error(`no model in ${folder}: ${catalog.rejected.map((r) => r.reason).join('; ')}`);
const available = catalog.controlnets.get(model.id) ?? new Map<string, string>();
const controlnets = args
  .controlnets!.split(',')
  .filter(Boolean)
  .map((n) => {
    const file = available.get(n);
    if (!file) throw new Error(`no ControlNet "${n}" (available: ${[...available.keys()].join(', ')})`);
    return file;
  });
const cacheDir = args['cache-dir'] === 'off' ? null : path.resolve(args['cache-dir']!);
if (cacheDir && args.fresh) rmSync(cacheDir, { recursive: true, force: true });

const lines: string[] = [];
const sessions = new ModelSessions({ providers: [args.provider!], deviceId: 0, threads: Number(args.threads), graphCacheDir: cacheDir }, (l) => lines.push(l));
const started = performance.now();
if (args.prime) {
  const parts = [model.textEncoder, model.unet, model.vaeDecoder, ...(model.vaeEncoder ? [model.vaeEncoder] : []), ...controlnets];
  const primed = await primeGraphCache(parts, sessions.settings, 0);
  console.log(`primed ${primed.primed.length} graph(s) in parallel threads in ${(primed.ms / 1000).toFixed(2)} s`);
}
if (args.sequential) {
  for (const open of [
    () => sessions.textEncoder(model.textEncoder),
    () => sessions.unet(model.unet),
    () => sessions.vaeDecoder(model.vaeDecoder),
    ...(model.vaeEncoder ? [() => sessions.vaeEncoder(model.vaeEncoder!)] : []),
    ...controlnets.map((c) => () => sessions.controlnet(c)),
  ])
    await open();
} else await sessions.preload(model, controlnets);
const ms = performance.now() - started;
for (const l of lines.filter((line) => line.includes(' opened in '))) console.log(l.replace(folder, '<model>'));
console.log(
  `${model.id} + ${controlnets.length} ControlNet(s): sessions opened ${args.sequential ? 'one by one' : 'all at once'} in ${(ms / 1000).toFixed(2)} s (cache ${cacheDir ? (args.fresh ? 'empty' : 'as left') : 'off'}; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${os.cpus().length} CPUs)`,
);
await sessions.release();
