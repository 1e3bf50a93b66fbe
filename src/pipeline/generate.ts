import * as ort from 'onnxruntime-node';
import { encodePng, resizeRgb } from '../image/codec.js';
import type { RawImage } from '../image/types.js';
import { TorchGenerator } from '../math/torch-generator.js';
import { makeHint } from '../preprocessors/registry.js';
import { createScheduler } from '../schedulers/registry.js';
import { float32ToFloat16 } from '../tensor/float16.js';
import { blendMasked, guide, repeatBatch } from '../tensor/ops.js';
import { floatTensor, scalarFeed, timestepFeed, toFloat32, type FloatType } from '../runtime/tensors.js';
import { checkResidualsFit, type TensorSpec } from '../runtime/signatures.js';
import { batchedInputNames, runInFixedBatches } from './fixed-batch.js';
import { binaryMask, controlTensor, latentMask, vaeInputTensor, vaeOutputToImages } from './image-tensors.js';
import { mixedProviders, type ModelSessions } from './model-sessions.js';
import { encodePrompts } from './prompt-embeddings.js';
import { GenerationError } from './errors.js';
import { ResidualMixer, type ResidualContribution } from './residuals.js';
import type { GenerationMode, GenerationResult, GenerationSpec, ProgressEvent, RunTimings } from './spec.js';

const LATENT_CHANNELS = 4;

export { GenerationError };

export function generationMode(spec: Pick<GenerationSpec, 'maskImage' | 'initImage' | 'strength'>): GenerationMode {
  if (spec.maskImage) return 'inpaint';
  return spec.initImage && spec.strength < 1 ? 'img2img' : 'txt2img';
}

/**
 * diffusers' img2img/inpaint `get_timesteps`: keep the last int(steps × strength) steps.
 * Returns the index of the first step to run (in the scheduler's timestep list).
 */
export function firstStepIndex(steps: number, strength: number, order: number): number {
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initTimestep, 0) * order;
}

/**
 * Runs one ControlNet generation (StableDiffusionControlNet{,Img2Img,Inpaint}Pipeline semantics) on
 * ONNX sessions: prompt encoding with CFG, hints, seeded latents, [ControlNet(s) → UNet] × steps driven
 * by the scheduler, VAE decode, PNG.
 */
export async function generate(
  spec: GenerationSpec,
  models: ModelSessions,
  onProgress?: (e: ProgressEvent) => void,
): Promise<GenerationResult> {
  const started = performance.now();
  const runMs: RunTimings = {};
  const run = async (label: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => {
    const t = performance.now();
    const out = await session.run(feeds);
    runMs[label] = (runMs[label] ?? 0) + (performance.now() - t);
    return out;
  };
  /** A graph with a fixed batch size runs in chunks of it; `batched` are the inputs cut along the batch axis. */
  const runBatched = (label: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, batched: TensorSpec[], total: number, fixed: number | null) => {
    if (fixed === null || fixed === total) return run(label, session, feeds);
    return runInFixedBatches((f) => run(label, session, f), feeds, batchedInputNames(batched), total, fixed);
  };
  const warnings: string[] = [];
  const mode = generationMode(spec);
  const n = spec.samples;
  const lh = spec.height / 8;
  const lw = spec.width / 8;
  const latentSize = LATENT_CHANNELS * lh * lw;
  const guided = spec.guidanceScale > 1;

  const [tokenizer, textEncoder, unet, vaeDecoder, ...controlnets] = await Promise.all([
    models.tokenizer(spec.model.tokenizerDir),
    models.textEncoder(spec.model.textEncoder),
    models.unet(spec.model.unet),
    models.vaeDecoder(spec.model.vaeDecoder),
    ...spec.controlnets.map((c) => models.controlnet(c.modelPath)),
  ]);
  const vaeEncoder = mode === 'txt2img' ? null : await loadVaeEncoder(spec, models);
  const unetSig = unet.signature;
  const sampleChannels = unetSig.sample.shape[1];
  if (typeof sampleChannels === 'number' && sampleChannels !== LATENT_CHANNELS) {
    throw new GenerationError(`model ${spec.model.id}: UNet takes ${sampleChannels} latent channels; only 4-channel UNets are supported`);
  }
  controlnets.forEach((c, k) => checkResidualsFit(unetSig, c.signature, spec.controlnets[k]!.name));
  // diffusers forces guess mode when the (first) ControlNet pools its conditions globally (shuffle).
  const guessMode = spec.guessMode || (controlnets[0]?.signature.pooled ?? false);
  if (guessMode && !spec.guessMode) {
    warnings.push(`guess_mode: on, because ControlNet ${spec.controlnets[0]!.name} pools its conditions globally (as diffusers does)`);
  }
  const providers: Record<string, string> = { text_encoder: textEncoder.provider, unet: unet.provider, vae_decoder: vaeDecoder.provider };
  controlnets.forEach((c, k) => (providers[`controlnet:${spec.controlnets[k].name}`] = c.provider));
  if (vaeEncoder) providers.vae_encoder = vaeEncoder.provider;
  const mixed = mixedProviders([
    { kind: 'unet', ...unet },
    { kind: 'vae_decoder', ...vaeDecoder },
    ...controlnets.map((c) => ({ kind: 'controlnet' as const, ...c })),
  ]);
  if (mixed) warnings.push(`execution providers: ${mixed}`);

  // Prompts.
  const encodeStart = performance.now();
  const embeddings = await encodePrompts(tokenizer, textEncoder, spec.prompt, spec.negativePrompt, n, guided, unetSig.floatType, run, spec.clipSkip ?? 1);
  if (embeddings.truncated) {
    warnings.push(`prompt: longer than the text encoder's 77 tokens; this part was ignored: "${embeddings.truncated}"`);
  }

  // Hints → ControlNet conditioning, already batched for the ControlNet calls.
  const hintStart = performance.now();
  const cnBatch = guided && !guessMode ? 2 * n : n;
  const condTensors: ort.Tensor[] = [];
  for (let k = 0; k < spec.controlnets.length; k++) {
    const unit = spec.controlnets[k];
    const { image, minusOne } = await controlImage(spec, models, unit.type, unit.image);
    const one = controlTensor(image, minusOne);
    const batched = new Float32Array(one.length * cnBatch);
    for (let b = 0; b < cnBatch; b++) batched.set(one, b * one.length);
    condTensors.push(floatTensor(controlnets[k].signature.floatType, batched, [cnBatch, 3, spec.height, spec.width]));
  }
  const hintMs = performance.now() - hintStart;

  // Scheduler and the steps to run.
  const scheduler = createScheduler(spec.scheduler, spec.model.schedulerConfig, {
    useKarrasSigmas: spec.useKarrasSigmas,
    algorithmType: spec.algorithmType,
  });
  scheduler.setTimesteps(spec.steps);
  let timesteps = scheduler.timesteps;
  let stepsRun = spec.steps;
  if (mode !== 'txt2img') {
    const begin = firstStepIndex(spec.steps, spec.strength, scheduler.order);
    timesteps = timesteps.subarray(begin);
    scheduler.setBeginIndex(begin);
    stepsRun = spec.steps - begin / scheduler.order;
  }
  if (timesteps.length === 0) {
    throw new GenerationError(`strength ${spec.strength} × num_inference_steps ${spec.steps} leaves no step to run; raise either`);
  }

  // Initial latents, drawing from one seeded generator in diffusers' order.
  const generator = new TorchGenerator(spec.seed);
  let latents: Float32Array;
  let inpaint: { known: Float32Array; noise: Float32Array; mask: Float32Array } | null = null;
  if (mode === 'txt2img') {
    latents = generator.randn(n * latentSize);
    const sigma = scheduler.initNoiseSigma;
    if (sigma !== 1) for (let i = 0; i < latents.length; i++) latents[i] *= sigma;
  } else {
    const init = await resizeRgb(spec.initImage!, spec.width, spec.height);
    const known = repeatBatch(await encodeImage(vaeEncoder!, init, spec, generator, run), n);
    const noise = generator.randn(n * latentSize);
    if (mode === 'img2img' || spec.strength < 1) {
      latents = scheduler.addNoise(known, noise, timesteps[0]);
    } else {
      latents = new Float32Array(noise.length);
      for (let i = 0; i < latents.length; i++) latents[i] = noise[i] * scheduler.initNoiseSigma;
    }
    if (mode === 'inpaint') {
      const maskImage = await resizeRgb(spec.maskImage!, spec.width, spec.height);
      const mask = binaryMask(maskImage);
      // diffusers encodes the masked image here too (for 9-channel UNets); a 4-channel UNet does not
      // use it, but the draw it makes from the generator is kept so later noise matches.
      generator.randn(latentSize);
      inpaint = { known, noise, mask: latentMask(mask, spec.width, spec.height, lw, lh) };
    }
  }
  const encodeMs = performance.now() - encodeStart - hintMs;

  // The denoising loop.
  const unetBatch = guided ? 2 * n : n;
  const unetInput = new Float32Array(unetBatch * latentSize);
  const unetInputHalf = unetSig.floatType === 'float16' ? new Uint16Array(unetInput.length) : null;
  const guessInputs = guessMode ? controlnets.map((c) => c.signature.floatType) : [];
  const guessHalf = guessInputs.includes('float16') ? new Uint16Array(n * latentSize) : null;
  const guidedPred = new Float32Array(n * latentSize);
  // Text states per ControlNet, in its own float type (converted once, not per step).
  const cnHidden = controlnets.map((c) => hiddenFor(guessMode ? embeddings.cond : embeddings.unet, c.signature.floatType));
  const mixer = new ResidualMixer(unetSig.floatType, guessMode, guessMode && guided ? 2 : 1, { height: lh, width: lw });
  const latentDims = (b: number) => [b, LATENT_CHANNELS, lh, lw];

  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    const scaled = scheduler.scaleModelInput(latents, t);
    unetInput.set(scaled, 0);
    if (guided) unetInput.set(scaled, scaled.length);
    const unetSample = unetInputHalf
      ? new ort.Tensor('float16', float32ToFloat16(unetInput, unetInputHalf), latentDims(unetBatch))
      : new ort.Tensor('float32', unetInput, latentDims(unetBatch));

    const contributions: ResidualContribution[] = [];
    for (let k = 0; k < controlnets.length; k++) {
      const cn = controlnets[k];
      const sig = cn.signature;
      const unit = spec.controlnets[k];
      let sample: ort.Tensor;
      if (guessMode) {
        // Guess mode: the ControlNet sees only the conditional batch.
        sample = sig.floatType === 'float16'
          ? new ort.Tensor('float16', float32ToFloat16(scaled, guessHalf!), latentDims(n))
          : new ort.Tensor('float32', scaled, latentDims(n));
      } else {
        sample = sig.floatType === unetSig.floatType ? unetSample : floatTensor(sig.floatType, unetInput, latentDims(unetBatch));
      }
      const batch = sample.dims[0];
      const feeds: Record<string, ort.Tensor> = {
        [sig.sample.name]: sample,
        [sig.timestep.name]: timestepFeed(sig.timestep, batch, t),
        [sig.hiddenStates.name]: cnHidden[k],
        [sig.cond.name]: condTensors[k],
      };
      let jsScale = unit.conditioningScale;
      if (sig.scale) {
        feeds[sig.scale.name] = scalarFeed(sig.scale, unit.conditioningScale);
        jsScale = 1;
      }
      const out = await runBatched('controlnet', cn.session, feeds, [sig.sample, sig.timestep, sig.hiddenStates, sig.cond], batch, sig.batch);
      contributions.push({ outputs: sig.outputs.map((o) => out[o.name] as ort.Tensor), scale: jsScale });
    }
    const residuals = await mixer.mix(contributions);

    const feeds: Record<string, ort.Tensor> = {
      [unetSig.sample.name]: unetSample,
      [unetSig.timestep.name]: timestepFeed(unetSig.timestep, unetBatch, t),
      [unetSig.hiddenStates.name]: embeddings.unet,
    };
    unetSig.residuals.forEach((r, j) => (feeds[r.name] = residuals[j]));
    const unetBatched = [unetSig.sample, unetSig.timestep, unetSig.hiddenStates, ...unetSig.residuals];
    const out = await runBatched('unet', unet.session, feeds, unetBatched, unetBatch, unetSig.batch);
    const pred = toFloat32(out[unetSig.output.name] as ort.Tensor);
    const noisePred = guided ? guide(pred, spec.guidanceScale, guidedPred) : pred;

    const stepped = scheduler.step(noisePred, t, latents, generator);
    latents.set(stepped.prevSample);
    if (inpaint) {
      const known = i < timesteps.length - 1 ? scheduler.addNoise(inpaint.known, inpaint.noise, timesteps[i + 1]) : inpaint.known;
      blendMasked(latents, known, inpaint.mask, LATENT_CHANNELS);
    }
    onProgress?.({ step: i + 1, total: timesteps.length });
  }

  // Decode one sample at a time: the VAE decoder's activations dominate memory at high resolution.
  const images: Uint8Array[] = [];
  const inv = 1 / spec.model.vaeScalingFactor;
  const dec = vaeDecoder.signature;
  for (let b = 0; b < n; b++) {
    const z = latents.slice(b * latentSize, (b + 1) * latentSize);
    for (let i = 0; i < z.length; i++) z[i] *= inv;
    const out = await runBatched('vae_decoder', vaeDecoder.session, { [dec.input.name]: floatTensor(dec.floatType, z, latentDims(1)) }, [dec.input], 1, dec.batch);
    const [image] = vaeOutputToImages(toFloat32(out[dec.output.name] as ort.Tensor), 1, spec.width, spec.height);
    images.push(await encodePng(image));
  }

  return {
    images,
    mode,
    stepsRun,
    usedKarrasSigmas: scheduler.usesKarrasSigmas,
    guessMode,
    algorithmType: spec.scheduler === 'DPMSolverMultistepScheduler' ? normalisedAlgorithm(spec.algorithmType) : null,
    providers,
    warnings,
    timings: { totalMs: performance.now() - started, runMs, hintMs, encodeMs },
  };
}

function normalisedAlgorithm(value: string | null): string {
  if (!value) return 'dpmsolver++';
  return value === 'dpmsolver+++' ? 'sde-dpmsolver++' : value;
}

async function loadVaeEncoder(spec: GenerationSpec, models: ModelSessions) {
  if (!spec.model.vaeEncoder) {
    throw new GenerationError(`model ${spec.model.id} has no vae_encoder, which img2img and inpaint need`);
  }
  return models.vaeEncoder(spec.model.vaeEncoder);
}

/** The hint for one ControlNet: computed by its preprocessor (auto_hint), or the given image resized. */
async function controlImage(spec: GenerationSpec, models: ModelSessions, type: string, source: RawImage): Promise<{ image: RawImage; minusOne?: Uint8Array }> {
  if (!spec.autoHint) return { image: await resizeRgb(source, spec.width, spec.height) };
  const hint = await makeHint(type, source, {
    width: spec.width,
    height: spec.height,
    detectResolution: spec.hint.detectResolution,
    lowThreshold: spec.hint.lowThreshold,
    highThreshold: spec.hint.highThreshold,
    seed: Number(spec.seed & 0xffffffffn),
    mask: spec.maskImage ?? undefined,
    annotators: models.annotators,
    annotatorsDir: models.annotatorsDir,
  });
  return { image: hint.image, minusOne: hint.minusOneMask };
}

type Run = (label: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => Promise<ort.InferenceSession.ReturnType>;

/**
 * VAE-encodes one image to scaled latents [4, h, w]. Encoders that output the posterior's mean and
 * log-variance (8 channels) are sampled with the job's generator, as diffusers' `retrieve_latents`
 * does; those that output a sample already still consume the same draw, so later noise matches.
 */
async function encodeImage(
  encoder: Awaited<ReturnType<ModelSessions['vaeEncoder']>>,
  image: RawImage,
  spec: GenerationSpec,
  generator: TorchGenerator,
  run: Run,
): Promise<Float32Array> {
  const sig = encoder.signature;
  const input = floatTensor(sig.floatType, vaeInputTensor(image), [1, 3, image.height, image.width]);
  const out = (await run('vae_encoder', encoder.session, { [sig.input.name]: input }))[sig.output.name] as ort.Tensor;
  const params = toFloat32(out);
  const size = LATENT_CHANNELS * (image.height / 8) * (image.width / 8);
  const draw = generator.randn(size);
  const latents = new Float32Array(size);
  const scale = spec.model.vaeScalingFactor;
  if (out.dims[1] === 2 * LATENT_CHANNELS) {
    for (let i = 0; i < size; i++) {
      const logvar = Math.min(20, Math.max(-30, params[size + i]));
      latents[i] = (params[i] + Math.exp(0.5 * logvar) * draw[i]) * scale;
    }
  } else if (out.dims[1] === LATENT_CHANNELS) {
    for (let i = 0; i < size; i++) latents[i] = params[i] * scale;
  } else {
    throw new GenerationError(`vae_encoder output has ${out.dims[1]} channels; expected 4 or 8`);
  }
  return latents;
}

function hiddenFor(tensor: ort.Tensor, type: FloatType): ort.Tensor {
  return tensor.type === type ? tensor : floatTensor(type, toFloat32(tensor), tensor.dims);
}
