import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type ServerConfig } from '../config.js';
import { randomJobId, writeOutputs } from '../jobs/outputs.js';
import { workUnits } from '../jobs/eta.js';
import { resultMeta } from '../jobs/result-meta.js';
import type { ModelCatalog } from '../runtime/catalog.js';
import { scanModels } from '../runtime/catalog.js';
import { DEFAULT_MODEL_ID } from '../runtime/default-models.js';
import { buildSpec, requestMeta, validateRequest } from '../server/generation-spec.js';
import { WorkerPool } from '../worker/worker-pool.js';
import type { InferenceWorker } from '../worker/worker-client.js';
import { UsageError, type GenerateOptions } from './generate-args.js';
import { CliImageInput } from './image-input.js';
import { Progress, type ProgressStream, type RequestWork } from './progress.js';
import { parseRequests, type InputEntry } from './requests-file.js';

export interface CliStreams {
  /** Gets each results line too, unless it is a terminal (there the progress lines say it all). */
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: ProgressStream;
  readStdin(): Promise<string>;
}

/** Fields about delivering a result over HTTP, which have no meaning offline. */
const DELIVERY_FIELDS: [string, string][] = [
  ['webhook', 'the command line sends no webhooks; not used'],
  ['instant_response', 'the command line always waits for the result; not used'],
  ['temp', 'the command line never deletes its outputs; not used'],
];

type Result = Record<string, unknown> & { line: number; status: 'success' | 'error' | 'skipped' };

/**
 * `controlnet-server generate`: each input line through the server's validation (validateRequest,
 * buildSpec) and an inference worker thread, one at a time; PNGs and results.jsonl into the output
 * folder. Returns the exit code: 0 all succeeded, 1 any failed (usage errors throw UsageError).
 */
export async function runGenerate(options: GenerateOptions, io: CliStreams): Promise<number> {
  const config = cliConfig(options);
  const fromStdin = options.input === '-';
  const text = fromStdin ? await io.readStdin() : readInput(options.input);
  const entries = parseRequests(text);
  if (entries.length === 0) throw new UsageError(`${fromStdin ? 'stdin' : options.input} holds no request`);
  const baseDir = fromStdin ? process.cwd() : path.dirname(path.resolve(options.input));

  const catalog = await scanModels(config.modelsDir);
  if (catalog.models.size === 0) {
    throw new UsageError(`no model found in ${config.modelsDir}; give --models DIR or MODELS_DIR (npm run models writes the tiny test models)`);
  }
  const outDir = path.resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const resultsFile = path.join(outDir, 'results.jsonl');
  const results = openSync(resultsFile, 'w');

  const progress = new Progress(io.stderr, Progress.modeFor(io.stderr, options.progress));
  const threadOutput = (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line.trim() !== '' && (options.verbose || /warning|error/i.test(line))) progress.print(line);
    }
  };
  const pool = new WorkerPool(
    {
      providers: config.executionProviders,
      deviceId: config.deviceId,
      threads: config.threads,
      fusedStep: config.fusedStep,
      fusedStepCache: config.fusedStepCache,
    },
    1,
    path.join(config.modelsDir, 'annotators'),
    threadOutput,
  );
  const images = new CliImageInput(baseDir, config.image, config.outbound);
  const defaultModel = defaultModelOf(catalog);
  const started = performance.now();
  const counts = { success: 0, error: 0, skipped: 0 };

  progress.start(entries.map((e) => estimateWork(e, catalog, defaultModel)));
  if (progress.mode === 'plain') {
    progress.print(`${entries.length} request${entries.length === 1 ? '' : 's'} from ${fromStdin ? 'stdin' : options.input}; outputs in ${outDir}`);
  }
  try {
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k];
      let result: Result;
      if (options.failFast && counts.error > 0) {
        result = { line: entry.line, status: 'skipped', message: 'not run: --fail-fast and an earlier line failed' };
      } else {
        progress.begin(k, entry.line);
        const r = await runOne(entry, { catalog, defaultModel, images, worker: pool.workers[0], outDir, progress });
        result = r;
        progress.finish(r.status === 'success', describe(r, outDir));
      }
      counts[result.status] += 1;
      const json = JSON.stringify(result);
      writeSync(results, `${json}\n`);
      if (!io.stdout.isTTY) io.stdout.write(`${json}\n`);
    }
  } finally {
    closeSync(results);
    await pool.close();
  }
  progress.end();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
  progress.print(`${counts.success} succeeded, ${counts.error} failed${skipped} in ${seconds} s; results in ${resultsFile}`);
  progress.end();
  return counts.error > 0 ? 1 : 0;
}

interface RunContext {
  catalog: ModelCatalog;
  defaultModel: string | null;
  images: CliImageInput;
  worker: InferenceWorker;
  outDir: string;
  progress: Progress;
}

/** One line: validate, read its images, run it, write its PNGs. Never throws: a failure is its result. */
async function runOne(entry: InputEntry, ctx: RunContext): Promise<Result> {
  const { line } = entry;
  if ('error' in entry) return { line, status: 'error', message: entry.error };
  let id: string | undefined;
  try {
    const raw = entry.body;
    const { req, plan } = validateRequest(raw, ctx.catalog, ctx.defaultModel);
    const spec = await buildSpec(req, plan, { loadImage: ctx.images.loader(req.base64), newId: randomJobId });
    id = spec.id;
    const result = await ctx.worker.run(spec, (p) => ctx.progress.step(p.step, p.total));
    const names = await writeOutputs(ctx.outDir, { id: String(line).padStart(4, '0') }, result.images);
    const warnings = [...plan.warnings, ...deliveryWarnings(raw), ...result.warnings];
    return {
      line,
      status: 'success',
      id: Number(id),
      generationTime: Number((result.timings.totalMs / 1000).toFixed(3)),
      output: names.map((name) => path.join(ctx.outDir, name)),
      ...(req.track_id !== null ? { track_id: req.track_id } : {}),
      meta: { ...requestMeta(req, plan, spec, ctx.images.describe), ...resultMeta(spec, result) },
      warnings,
    };
  } catch (err) {
    // ClientError (validation, images) and JobFailedError (the worker) carry messages meant for the user.
    const message = err instanceof Error ? err.message : String(err);
    return { line, status: 'error', ...(id ? { id: Number(id) } : {}), message };
  }
}

function describe(result: Result, outDir: string): string {
  if (result.status !== 'success') return `line ${result.line}: ${result.status}: ${String(result.message)}`;
  const output = result.output as string[];
  const files = output.map((p) => path.relative(outDir, p)).join(', ');
  return `line ${result.line}: ${output.length} image${output.length === 1 ? '' : 's'} in ${result.generationTime} s (${files})`;
}

function deliveryWarnings(raw: Record<string, unknown>): string[] {
  const set = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== false && v !== 'no' && v !== 'false' && v !== '0';
  return DELIVERY_FIELDS.filter(([field]) => set(raw[field])).map(([field, why]) => `${field}: ${why}`);
}

/** The work of a line for the ETA, from its validated fields (none for a line that will be refused). */
function estimateWork(entry: InputEntry, catalog: ModelCatalog, defaultModel: string | null): RequestWork {
  if (!('body' in entry)) return { steps: 0, unitsPerStep: 0 };
  try {
    const { req, plan } = validateRequest(entry.body, catalog, defaultModel);
    const partial = req.mask_image !== null || (req.init_image !== null && req.strength < 1);
    const steps = partial ? Math.floor(req.num_inference_steps * req.strength) : req.num_inference_steps;
    const size = { width: req.width, height: req.height, samples: req.samples, controlnets: plan.units.length };
    return { steps, unitsPerStep: workUnits({ steps: 1, ...size }) };
  } catch {
    return { steps: 0, unitsPerStep: 0 };
  }
}

function defaultModelOf(catalog: ModelCatalog): string | null {
  const wanted = process.env.DEFAULT_MODEL || DEFAULT_MODEL_ID;
  return catalog.models.has(wanted) ? wanted : (catalog.models.keys().next().value ?? null);
}

function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : (err as Error).message}`);
  }
}

/** The server's settings that apply here (providers, device, threads, image limits), flags first. */
function cliConfig(options: GenerateOptions): ServerConfig {
  // Queue and role settings of a server in the same environment do not concern the command line.
  const { ROLE: _role, QUEUE: _queue, ...env } = process.env;
  if (options.models !== undefined) env.MODELS_DIR = options.models;
  if (options.threads !== undefined) env.THREADS = String(options.threads);
  if (options.provider !== undefined) env.EXECUTION_PROVIDER = options.provider;
  try {
    return loadConfig(env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
