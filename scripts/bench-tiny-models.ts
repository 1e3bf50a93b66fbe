/**
 * Times the generated tiny models on this machine: generating the sets, and one denoising step (ControlNet +
 * UNet) at a 64x64 latent (512x512 pixels), CFG batch 2, plus the text encoder and the VAE decoder.
 *
 *   npx tsx scripts/bench-tiny-models.ts [--runs 7] [--threads 2] [--latent 64] [--steps 30]
 *
 * Prints medians (and min) over --runs runs after one warm-up run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { generateModelSets } from './tiny-models/generate.js';
import { float32ToFloat16 } from '../src/tensor/float16.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    threads: { type: 'string', default: '2' },
    latent: { type: 'string', default: '64' },
    steps: { type: 'string', default: '30' },
  },
});
const RUNS = Number(args.runs);
const THREADS = Number(args.threads);
const LATENT = Number(args.latent);
const STEPS = Number(args.steps);
const BATCH = 2;

function stats(times: number[]): { median: number; min: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]! };
}

async function time(runs: number, fn: () => Promise<unknown> | unknown): Promise<{ median: number; min: number }> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return stats(times);
}

/** Zero-ish inputs of the shapes the metadata asks for (symbolic dims resolved for the latent size). */
function feedsFor(s: ort.InferenceSession, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of s.inputMetadata) {
    if (!m.isTensor) continue;
    const dims = m.shape.map((d) => {
      if (typeof d === 'number') return d;
      if (d === 'batch') return batch;
      if (d.startsWith('image_')) return 8 * LATENT;
      const halvings = Math.log2(Number(/\/(\d+)\)$/.exec(d)?.[1] ?? 1));
      let size = LATENT;
      for (let i = 0; i < halvings; i++) size = Math.ceil(size / 2);
      return size;
    });
    const count = dims.reduce((a, b) => a * b, 1);
    const wave = Float32Array.from({ length: count }, (_, i) => 0.5 * Math.sin(0.37 * i));
    if (m.name === 'timestep')
      feeds[m.name] =
        m.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.of(500n), dims) : new ort.Tensor('float32', new Float32Array(count).fill(500), dims);
    else if (m.name === 'input_ids')
      feeds[m.name] =
        m.type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(count).fill(7n), dims) : new ort.Tensor('int32', new Int32Array(count).fill(7), dims);
    else if (m.name === 'conditioning_scale') feeds[m.name] = new ort.Tensor('float32', Float32Array.of(1), []);
    else feeds[m.name] = m.type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(wave), dims) : new ort.Tensor('float32', wave, dims);
  }
  return feeds;
}

const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
const ms = (t: { median: number; min: number }) => [t.median.toFixed(1), t.min.toFixed(1)];

const out = mkdtempSync(join(tmpdir(), 'bench-models-'));
try {
  const gen = await time(Math.max(1, Math.min(RUNS, 3)), () => generateModelSets({ out, force: true }));
  const sets = generateModelSets({ out });
  row('generate tiny fp32 + fp16 sets (30 models)', ...ms(gen));
  for (const set of sets) {
    const bytes = set.files.reduce((sum, f) => sum + f.bytes, 0);
    row(`  ${set.folder}: ${set.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`, '', '');
  }

  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: THREADS, interOpNumThreads: 1 };
  for (const [variant, base, cnDir] of [
    ['fp32', 'tiny-sd15', 'controlnet'],
    ['fp16', 'tiny-sd15-fp16', 'tiny-sd15-fp16/controlnet'],
  ] as const) {
    const load = (path: string) => ort.InferenceSession.create(join(out, path), options);
    const [text, unet, controlnet, vae] = await Promise.all([
      load(`${base}/text_encoder/model.onnx`),
      load(`${base}/unet/model.onnx`),
      load(`${cnDir}/canny/model.onnx`),
      load(`${base}/vae_decoder/model.onnx`),
    ]);
    const cnFeeds = feedsFor(controlnet, BATCH);
    const unetFeeds = feedsFor(unet, BATCH);
    const step = await time(RUNS, async () => {
      const residuals = await controlnet.run(cnFeeds);
      await unet.run({ ...unetFeeds, ...residuals });
    });
    const cnOnly = await time(RUNS, () => controlnet.run(cnFeeds));
    const textT = await time(RUNS, () => text.run(feedsFor(text, BATCH)));
    const vaeT = await time(Math.max(1, Math.min(RUNS, 3)), () => vae.run(feedsFor(vae, 1)));
    const px = `${8 * LATENT}x${8 * LATENT}`;
    row(`${variant}: ControlNet + UNet step, latent ${LATENT}x${LATENT}, batch ${BATCH}`, ...ms(step));
    row(`${variant}:   of which ControlNet`, ...ms(cnOnly));
    row(`${variant}: text encoder, batch ${BATCH}`, ...ms(textT));
    row(`${variant}: VAE decode to ${px}, batch 1`, ...ms(vaeT));
    const total = STEPS * step.median + textT.median + vaeT.median;
    row(`${variant}: => ${STEPS}-step ${px} generation (estimate from medians)`, total.toFixed(0), '');
    await Promise.all([text, unet, controlnet, vae].map((s) => s.release()));
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length), ['what', 'median ms', 'min ms'][c]!.length));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ');
console.log(`onnxruntime-node ${ort.env.versions.common}, ${THREADS} intra-op threads, ${RUNS} runs after a warm-up`);
console.log(line(['what', 'median ms', 'min ms']));
for (const r of rows) console.log(line(r));
