/**
 * Runs each ControlNet, the UNet (CFG batch 2) and the VAE decoder once per allowed resolution at load time, so the
 * first request at that size does not pay for what the providers do on a new input shape: cuDNN's exhaustive
 * convolution-algorithm search (onnxruntime's default, which onnxruntime-node cannot change), TensorRT engine
 * builds, WebGPU shader compilation, arena growth. Inputs are zeros: only the shapes matter.
 */
import * as ort from 'onnxruntime-node';
import { floatTensor, scalarFeed, timestepFeed } from '../runtime/tensors.js';
import type { TensorSpec } from '../runtime/signatures.js';
import { batchedInputNames, runInFixedBatches } from './fixed-batch.js';
import type { ModelSessions } from './model-sessions.js';
import { ResidualMixer } from './residuals.js';
import type { BaseModelFiles } from './spec.js';
import type { WarmupSize } from './warmup-sizes.js';

export type { WarmupSize } from './warmup-sizes.js';

export interface WarmupReport extends WarmupSize {
  /** Wall time of this size's warm-up runs. */
  ms: number;
  /** Time inside each model's run(), by model. */
  runMs: Record<string, number>;
}

const CFG_BATCH = 2;
const LATENT_CHANNELS = 4;
/** A mid-schedule timestep: any value works, the shapes are what count. */
const TIMESTEP = 500;

function zeros(spec: TensorSpec, dims: number[]): ort.Tensor {
  return floatTensor(spec.type === 'float16' ? 'float16' : 'float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
}

/** The hidden-state width a graph states (768 for SD 1.x), or null when it leaves it symbolic. */
function staticWidth(spec: TensorSpec): number | null {
  return typeof spec.shape[2] === 'number' ? spec.shape[2] : null;
}

export async function warmUp(models: ModelSessions, model: BaseModelFiles, controlnetPaths: readonly string[], sizes: readonly WarmupSize[], log: (line: string) => void = () => {}): Promise<WarmupReport[]> {
  const [unet, vaeDecoder, ...controlnets] = await Promise.all([
    models.unet(model.unet),
    models.vaeDecoder(model.vaeDecoder),
    ...controlnetPaths.map((p) => models.controlnet(p)),
  ]);
  const width = staticWidth(unet.signature.hiddenStates);
  if (width === null) throw new Error(`warm-up: ${model.id}'s UNet leaves the text width symbolic`);
  const reports: WarmupReport[] = [];
  for (const size of sizes) {
    const started = performance.now();
    const runMs: Record<string, number> = {};
    const timed = async (label: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, batched: TensorSpec[], fixed: number | null) => {
      const t = performance.now();
      const run = (f: Record<string, ort.Tensor>) => session.run(f);
      const out = fixed === null || fixed === CFG_BATCH ? await run(feeds) : await runInFixedBatches(run, feeds, batchedInputNames(batched), CFG_BATCH, fixed);
      runMs[label] = (runMs[label] ?? 0) + performance.now() - t;
      return out as Record<string, ort.Tensor>;
    };
    const lh = size.height / 8;
    const lw = size.width / 8;
    const u = unet.signature;
    const hidden = zeros(u.hiddenStates, [CFG_BATCH, 77, width]);
    let residuals: ort.Tensor[] | null = null;
    for (const cn of controlnets) {
      const sig = cn.signature;
      const feeds: Record<string, ort.Tensor> = {
        [sig.sample.name]: zeros(sig.sample, [CFG_BATCH, LATENT_CHANNELS, lh, lw]),
        [sig.timestep.name]: timestepFeed(sig.timestep, CFG_BATCH, TIMESTEP),
        [sig.hiddenStates.name]: zeros(sig.hiddenStates, [CFG_BATCH, 77, width]),
        [sig.cond.name]: zeros(sig.cond, [CFG_BATCH, 3, size.height, size.width]),
        ...(sig.scale ? { [sig.scale.name]: scalarFeed(sig.scale, 1) } : {}),
      };
      const out = await timed('controlnet', cn.session, feeds, [sig.sample, sig.timestep, sig.hiddenStates, sig.cond], sig.batch);
      // The first ControlNet's residuals, in the UNet's type (and broadcast when pooled), feed the UNet.
      residuals ??= await new ResidualMixer(u.floatType, false, 1, { height: lh, width: lw }).mix([{ outputs: sig.outputs.map((o) => out[o.name]!), scale: 1 }]);
    }
    if (residuals) {
      const feeds: Record<string, ort.Tensor> = {
        [u.sample.name]: zeros(u.sample, [CFG_BATCH, LATENT_CHANNELS, lh, lw]),
        [u.timestep.name]: timestepFeed(u.timestep, CFG_BATCH, TIMESTEP),
        [u.hiddenStates.name]: hidden,
      };
      u.residuals.forEach((r, j) => (feeds[r.name] = residuals![j]!));
      await timed('unet', unet.session, feeds, [u.sample, u.timestep, u.hiddenStates, ...u.residuals], u.batch);
    } else {
      log(`warm-up ${size.width}x${size.height}: no ControlNet loaded, so the UNet's residual shapes are unknown; UNet skipped`);
    }
    const dec = vaeDecoder.signature;
    const t = performance.now();
    await vaeDecoder.session.run({ [dec.input.name]: zeros(dec.input, [dec.batch ?? 1, LATENT_CHANNELS, lh, lw]) });
    runMs.vae_decoder = performance.now() - t;
    const report = { ...size, ms: performance.now() - started, runMs };
    log(`warm-up ${size.width}x${size.height} of ${model.id}: ${report.ms.toFixed(0)} ms (${Object.entries(runMs).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')})`);
    reports.push(report);
  }
  return reports;
}
