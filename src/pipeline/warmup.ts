/**
 * Runs each ControlNet, the UNet (CFG batch 2) and the VAE decoder once per allowed resolution at load time, so the
 * first request at that size does not pay for what the providers do on a new input shape: cuDNN's exhaustive
 * convolution-algorithm search (onnxruntime's default, which onnxruntime-node cannot change), TensorRT engine
 * builds, WebGPU shader compilation, arena growth. It drives the generation's own stages (denoise step, decode)
 * on zeros: only the shapes matter.
 *
 * Two more things happen here:
 * - The fused step graph (fused-step-graph.ts) of the UNet and the `fuse` ControlNets is built and opened (when
 *   FUSED_STEP is not off and it fits MODEL_MEMORY_BUDGET beside what is open: a preload never closes a session),
 *   and run at each size too, so the first request does not pay for building it.
 * - Each session's memory growth over its first run (activation-probe.ts) is recorded in the session registry as its
 *   activations at the warm-up sizes, counted against MODEL_MEMORY_BUDGET on top of its weights.
 */
import type * as ort from 'onnxruntime-node';
import type { BaseModelFiles, WarmupReport, WarmupSize } from '../domain/index.js';
import { memoryProbe } from '../runtime/activation-probe.js';
import type { ControlNetSignature, UNetSignature } from '../runtime/signatures.js';
import { floatTensor } from '../runtime/tensors.js';
import { familyOf } from './family/index.js';
import { fusedCoverage } from './fused-step-graph.js';
import type { Loaded, ModelSessions } from './model-sessions.js';
import { type Feeds, type Outputs, SessionRunner } from './session-runner.js';
import { decodeLatents } from './stages/decode.js';
import { DenoiseStep } from './stages/denoise-step.js';
import { latentGrid } from './stages/latent-grid.js';

export type { WarmupReport, WarmupSize } from '../domain/index.js';

/** A mid-schedule timestep: any value works, the shapes are what count. */
const TIMESTEP = 500;
/** Any guidance above 1 runs the CFG batch of 2. */
const GUIDED = 7.5;

interface Measured {
  key: string;
  provider: string;
  bytes: number;
  /** Whether any of its runs could be measured. */
  known: boolean;
  batch: number;
}

/** A SessionRunner that measures each registered session's memory growth over its runs. */
class MeasuringRunner extends SessionRunner {
  constructor(
    private readonly measured: Map<ort.InferenceSession, Measured>,
    private readonly deviceId: number,
  ) {
    super();
  }

  override async run(label: string, session: ort.InferenceSession, feeds: Feeds): Promise<Outputs> {
    const m = this.measured.get(session);
    const probe = m ? memoryProbe(m.provider, this.deviceId) : null;
    if (!m || !probe) return super.run(label, session, feeds);
    let out!: Outputs;
    const growth = await probe.growth(async () => {
      out = await super.run(label, session, feeds);
    });
    if (growth !== null) {
      m.bytes += growth;
      m.known = true;
    }
    m.batch = Math.max(m.batch, Object.values(feeds)[0]?.dims[0] ?? 1);
    return out;
  }
}

export async function warmUp(
  models: ModelSessions,
  model: BaseModelFiles,
  controlnetPaths: readonly string[],
  sizes: readonly WarmupSize[],
  log: (line: string) => void = () => {},
  fuse: readonly string[] = [],
): Promise<WarmupReport[]> {
  const [description, unet, vaeDecoder, ...controlnets] = await Promise.all([
    models.describe(model),
    models.unet(model.unet),
    models.vaeDecoder(model.vaeDecoder),
    ...controlnetPaths.map((p) => models.controlnet(p)),
  ]);
  const fused = await fusedForWarmup(models, unet, controlnetPaths, controlnets, fuse, log);
  const measured = new Map<ort.InferenceSession, Measured>();
  const track = (session: ort.InferenceSession, key: string, provider: string) => measured.set(session, { key, provider, bytes: 0, known: false, batch: 1 });
  track(unet.session, model.unet, unet.provider);
  track(vaeDecoder.session, model.vaeDecoder, vaeDecoder.provider);
  controlnets.forEach((c, k) => track(c.session, controlnetPaths[k]!, c.provider));
  if (fused) track(fused.session, fused.key, fused.provider);

  const text = familyOf(description).zeroConditioning(description, 2, unet.signature.floatType);
  const reports: WarmupReport[] = [];
  for (const size of sizes) {
    const started = performance.now();
    const runner = new MeasuringRunner(measured, models.settings.deviceId);
    const grid = latentGrid(description, size.width, size.height);
    if (controlnets.length > 0) {
      const calls = controlnets.map((loaded) => ({
        loaded,
        cond: floatTensor(loaded.signature.floatType, new Float32Array(2 * 3 * size.height * size.width), [2, 3, size.height, size.width]),
        conditioningScale: 1,
      }));
      const setup = { description, grid, unet, controlnets: calls, text, samples: 1, guidanceScale: GUIDED, guessMode: false };
      await new DenoiseStep(setup, runner).predict(new Float32Array(grid.size), TIMESTEP);
      if (fused) {
        const fusedCalls = fused.indices.map((k) => calls[k]!);
        await new DenoiseStep({ ...setup, controlnets: fusedCalls, fused: fused.session }, runner).predict(new Float32Array(grid.size), TIMESTEP);
      }
    } else {
      log(`warm-up ${size.width}x${size.height}: no ControlNet loaded, so the UNet was not run`);
    }
    for await (const image of decodeLatents(vaeDecoder, new Float32Array(grid.size), 1, description, grid, runner)) void image;
    const report = { ...size, ms: performance.now() - started, runMs: runner.runMs };
    log(
      `warm-up ${size.width}x${size.height} of ${model.id}: ${report.ms.toFixed(0)} ms (${Object.entries(report.runMs)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(', ')})`,
    );
    reports.push(report);
  }
  if (sizes.length > 0) recordActivations(models, measured, sizes, log);
  return reports;
}

/** The fused step graph of the UNet and the `fuse` ControlNets (in that order), when FUSED_STEP allows and it fits. */
async function fusedForWarmup(
  models: ModelSessions,
  unet: Loaded<UNetSignature>,
  controlnetPaths: readonly string[],
  controlnets: readonly Loaded<ControlNetSignature>[],
  fuse: readonly string[],
  log: (line: string) => void,
): Promise<{ session: ort.InferenceSession; key: string; provider: string; indices: number[] } | null> {
  if ((models.settings.fusedStep ?? 'auto') === 'off' || fuse.length === 0) return null;
  const indices = fuse.map((p) => controlnetPaths.indexOf(p));
  if (indices.some((k) => k < 0)) return null;
  const chosen = indices.map((k) => controlnets[k]!);
  const why =
    fusedCoverage(
      unet.signature,
      chosen.map((c) => c.signature),
    ) ?? (chosen.some((c) => c.provider !== unet.provider) ? 'the ControlNets and the UNet run on different providers' : null);
  if (why) {
    log(`warm-up: no fused step graph for ${fuse.length} ControlNet(s): ${why}`);
    return null;
  }
  const started = performance.now();
  const variant = { guess: false, halfBatch: false, guessScales: [] };
  const found = await models.fused.get(unet, chosen, variant, unet.provider, false, true);
  if (!found.session) {
    log(`warm-up: the fused step graph was not built: ${found.skipped}`);
    return null;
  }
  log(`warm-up: fused step graph of the UNet and ${fuse.length} ControlNet(s) ready in ${Math.round(performance.now() - started)} ms`);
  return { session: found.session, key: found.key, provider: found.provider, indices };
}

function recordActivations(models: ModelSessions, measured: Map<ort.InferenceSession, Measured>, sizes: readonly WarmupSize[], log: (line: string) => void) {
  const at = sizes.map((s) => `${s.width}×${s.height}`).join(', ');
  for (const m of measured.values()) {
    const probe = memoryProbe(m.provider, models.settings.deviceId);
    if (!m.known || !probe) continue;
    models.registry.recordActivations(m.key, { bytes: m.bytes, measured: `${probe.what} growth over the first run at warm-up (${at}, batch ${m.batch})` });
    log(`warm-up: ${m.key} took ${(m.bytes / 2 ** 20).toFixed(1)} MiB of ${probe.what} over its first run (${at}), counted in MODEL_MEMORY_BUDGET`);
  }
}
