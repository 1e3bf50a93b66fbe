/**
 * Stage: one denoising step — the ControlNets on the scaled latents (all of the CFG batch, or the conditional half
 * in guess mode), their residuals mixed (residuals.ts), the UNet, classifier-free guidance and the scheduler's step.
 * Buffers are allocated once per job and reused by every step.
 */
import * as ort from 'onnxruntime-node';
import type { TorchGenerator } from '../../math/torch-generator.js';
import type { ControlNetSignature, UNetSignature } from '../../runtime/signatures.js';
import { floatTensor, scalarFeed, timestepFeed, toFloat32, type FloatType } from '../../runtime/tensors.js';
import type { Scheduler } from '../../schedulers/types.js';
import { float32ToFloat16 } from '../../tensor/float16.js';
import { guide } from '../../tensor/ops.js';
import type { TextConditioning } from '../family/index.js';
import type { ModelDescription } from '../model-description.js';
import type { Loaded } from '../model-sessions.js';
import { ResidualMixer, type ResidualContribution } from '../residuals.js';
import type { Feeds, SessionRunner } from '../session-runner.js';
import { FUSED } from '../fused-step-graph.js';
import type { LatentGrid } from './latent-grid.js';

export interface ControlNetCall {
  loaded: Loaded<ControlNetSignature>;
  /** The hint, batched to the ControlNet batch, in its float type (control-inputs.ts). */
  cond: ort.Tensor;
  conditioningScale: number;
}

export interface DenoiseSetup {
  description: ModelDescription;
  grid: LatentGrid;
  unet: Loaded<UNetSignature>;
  controlnets: readonly ControlNetCall[];
  text: TextConditioning;
  samples: number;
  guidanceScale: number;
  guessMode: boolean;
  /**
   * The fused step graph for these ControlNets (fused-step-graph.ts): one run() per step, the residuals never leave
   * the runtime. Absent: ControlNets and UNet run as separate sessions.
   */
  fused?: ort.InferenceSession;
}

export class DenoiseStep {
  private readonly guided: boolean;
  private readonly unetBatch: number;
  private readonly unetInput: Float32Array;
  private readonly unetInputHalf: Uint16Array | null;
  private readonly guessHalf: Uint16Array | null;
  private readonly guidedPred: Float32Array;
  /** Text states per ControlNet, in its own float type (converted once, not per step). */
  private readonly cnHidden: ort.Tensor[];
  /** SDXL's text_embeds and time_ids per ControlNet, in its float type. */
  private readonly cnExtra: Record<string, ort.Tensor>[];
  private readonly mixer: ResidualMixer;

  constructor(
    private readonly setup: DenoiseSetup,
    private readonly runner: SessionRunner,
  ) {
    const { grid, samples: n, guessMode, unet, controlnets, text, description } = setup;
    this.guided = setup.guidanceScale > 1;
    this.unetBatch = this.guided ? 2 * n : n;
    this.unetInput = new Float32Array(this.unetBatch * grid.size);
    this.unetInputHalf = unet.signature.floatType === 'float16' ? new Uint16Array(this.unetInput.length) : null;
    const guessTypes = guessMode ? controlnets.map((c) => c.loaded.signature.floatType) : [];
    this.guessHalf = guessTypes.includes('float16') ? new Uint16Array(n * grid.size) : null;
    this.guidedPred = new Float32Array(n * grid.size);
    this.cnHidden = controlnets.map((c) => hiddenFor(guessMode ? text.condHidden : text.hidden, c.loaded.signature.floatType));
    const extra = guessMode ? text.extra.cond : text.extra.all;
    this.cnExtra = controlnets.map((c) => Object.fromEntries(Object.entries(extra).map(([name, t]) => [name, hiddenFor(t, c.loaded.signature.floatType)])));
    this.mixer = new ResidualMixer(unet.signature.floatType, guessMode, guessMode && this.guided ? 2 : 1, grid, {
      levels: description.residuals.map((r) => r.level),
      guessScales: description.guessModeScales,
    });
  }

  /** The UNet batch: 2 × samples with CFG, else samples. */
  get batch(): number {
    return this.unetBatch;
  }

  /** One scheduler step of `latents` (in place) at timestep t. */
  async step(scheduler: Scheduler, latents: Float32Array, t: number, generator: TorchGenerator): Promise<void> {
    const noisePred = await this.predict(scheduler.scaleModelInput(latents, t), t);
    latents.set(scheduler.step(noisePred, t, latents, generator).prevSample);
  }

  /** The (guided) noise prediction for latents already scaled by the scheduler. */
  async predict(scaled: Float32Array, t: number): Promise<Float32Array> {
    const { grid, samples: n, guessMode, unet, controlnets, text } = this.setup;
    const unetSig = unet.signature;
    const unetInput = this.unetInput;
    unetInput.set(scaled, 0);
    if (this.guided) unetInput.set(scaled, scaled.length);
    const unetSample = this.unetInputHalf
      ? new ort.Tensor('float16', float32ToFloat16(unetInput, this.unetInputHalf), grid.dims(this.unetBatch))
      : new ort.Tensor('float32', unetInput, grid.dims(this.unetBatch));

    if (this.setup.fused) return this.predictFused(this.setup.fused, unetSample, t);

    const contributions: ResidualContribution[] = [];
    for (let k = 0; k < controlnets.length; k++) {
      const { loaded, cond, conditioningScale } = controlnets[k]!;
      const sig = loaded.signature;
      let sample: ort.Tensor;
      if (guessMode) {
        // Guess mode: the ControlNet sees only the conditional batch.
        sample =
          sig.floatType === 'float16'
            ? new ort.Tensor('float16', float32ToFloat16(scaled, this.guessHalf!), grid.dims(n))
            : new ort.Tensor('float32', scaled, grid.dims(n));
      } else {
        sample = sig.floatType === unetSig.floatType ? unetSample : floatTensor(sig.floatType, unetInput, grid.dims(this.unetBatch));
      }
      const batch = sample.dims[0]!;
      const feeds: Feeds = {
        [sig.sample.name]: sample,
        [sig.timestep.name]: timestepFeed(sig.timestep, batch, t),
        [sig.hiddenStates.name]: this.cnHidden[k]!,
        [sig.cond.name]: cond,
        ...this.cnExtra[k]!,
      };
      let jsScale = conditioningScale;
      if (sig.scale) {
        feeds[sig.scale.name] = scalarFeed(sig.scale, conditioningScale);
        jsScale = 1;
      }
      const out = await this.runner.runBatched('controlnet', loaded.session, feeds, [sig.sample, sig.timestep, sig.hiddenStates, sig.cond], batch, sig.batch);
      contributions.push({ outputs: sig.outputs.map((o) => out[o.name] as ort.Tensor), scale: jsScale });
    }
    const residuals = await this.mixer.mix(contributions);

    const feeds: Feeds = {
      [unetSig.sample.name]: unetSample,
      [unetSig.timestep.name]: timestepFeed(unetSig.timestep, this.unetBatch, t),
      [unetSig.hiddenStates.name]: text.hidden,
      ...text.extra.all,
    };
    unetSig.residuals.forEach((r, j) => (feeds[r.name] = residuals[j]!));
    const batched = [unetSig.sample, unetSig.timestep, unetSig.hiddenStates, ...unetSig.residuals];
    const out = await this.runner.runBatched('unet', unet.session, feeds, batched, this.unetBatch, unetSig.batch);
    const pred = toFloat32(out[unetSig.output.name] as ort.Tensor);
    return this.guided ? guide(pred, this.setup.guidanceScale, this.guidedPred) : pred;
  }

  /** The same prediction through the fused graph: latents, timestep, text, hints and scales in; noise out. */
  private async predictFused(session: ort.InferenceSession, unetSample: ort.Tensor, t: number): Promise<Float32Array> {
    const { unet, controlnets, text } = this.setup;
    const feeds: Feeds = {
      [FUSED.sample]: unetSample,
      [FUSED.timestep]: timestepFeed(unet.signature.timestep, this.unetBatch, t),
      [FUSED.hiddenStates]: text.hidden,
    };
    controlnets.forEach((c, k) => {
      feeds[FUSED.cond(k)] = c.cond;
      feeds[FUSED.scale(k)] = new ort.Tensor('float32', Float32Array.of(c.conditioningScale), []);
    });
    const out = await this.runner.run('fused_step', session, feeds);
    const pred = toFloat32(out[FUSED.output] as ort.Tensor);
    return this.guided ? guide(pred, this.setup.guidanceScale, this.guidedPred) : pred;
  }
}

function hiddenFor(tensor: ort.Tensor, type: FloatType): ort.Tensor {
  return tensor.type === type ? tensor : floatTensor(type, toFloat32(tensor), tensor.dims);
}
