/**
 * One ControlNet generation (StableDiffusionControlNet{,Img2Img,Inpaint}Pipeline semantics) on ONNX sessions, as a
 * chain of stages driven by the model's description: encode prompt (the model family's part) → hints → schedule →
 * prepare latents → denoise step × steps → decode → PNG.
 */
import type { GenerationResult, GenerationSpec, ProgressEvent } from '../domain/index.js';
import { encodePng } from '../image/codec.js';
import { blankLike } from '../safety/checker.js';
import { TorchGenerator } from '../math/torch-generator.js';
import { checkControlNetFits } from './controlnet-fit.js';
import { GenerationError } from './errors.js';
import { familyOf } from './family/index.js';
import { fusedCoverage, type FusedVariant } from './fused-step-graph.js';
import { mixedProviders, type Loaded, type ModelSessions } from './model-sessions.js';
import type { ControlNetSignature, UNetSignature } from '../runtime/signatures.js';
import { SessionRunner } from './session-runner.js';
import { controlInputs } from './stages/control-inputs.js';
import { decodeLatents } from './stages/decode.js';
import { DenoiseStep } from './stages/denoise-step.js';
import { latentGrid } from './stages/latent-grid.js';
import { prepareLatents } from './stages/prepare-latents.js';
import { safetyCheck } from './stages/safety-check.js';
import { upscaleImage } from './stages/upscale.js';
import { generationMode, schedule } from './stages/timesteps.js';
import { loraWarnings } from '../lora/lora-report.js';
import { embeddingsFor } from '../embeddings/embedding-set.js';

export { GenerationError };
export { firstStepIndex, generationMode } from './stages/timesteps.js';

export async function generate(spec: GenerationSpec, models: ModelSessions, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult> {
  const started = performance.now();
  const runner = new SessionRunner();
  const warnings: string[] = [];
  const mode = generationMode(spec);
  const n = spec.samples;
  const guided = spec.guidanceScale > 1;

  const [description, unet, vaeDecoder, ...controlnets] = await Promise.all([
    models.describe(spec.model),
    models.unet(spec.model.unet, spec.model.loras),
    models.vaeDecoder(spec.model.vaeDecoder),
    ...spec.controlnets.map((c) => models.controlnet(c.modelPath)),
  ]);
  const vaeEncoder = mode === 'txt2img' ? null : await loadVaeEncoder(spec, models);
  const f = description.vaeScaleFactor;
  if (spec.width % f !== 0 || spec.height % f !== 0) {
    throw new GenerationError(`width, height: model ${spec.model.id} needs multiples of ${f}, got ${spec.width}x${spec.height}`);
  }
  if (spec.model.loras && spec.model.loras.length > 0) {
    // Each merged graph reports what it took: the UNet, the text encoder and (SDXL) the second text encoder.
    const [textEncoder, textEncoder2] = await Promise.all([
      models.textEncoder(spec.model.textEncoder, spec.model.loras, 'text_encoder', embeddingsFor(spec.model, 'text_encoder')),
      spec.model.sdxl
        ? models.textEncoder(spec.model.sdxl.textEncoder2, spec.model.loras, 'text_encoder_2', embeddingsFor(spec.model, 'text_encoder_2'))
        : null,
    ]);
    const reports = [unet, textEncoder, textEncoder2].flatMap((l) => l?.loraReports ?? []);
    warnings.push(...loraWarnings(spec.model.id, reports));
  }
  controlnets.forEach((c, k) => checkControlNetFits(spec.model.id, description, c.signature, spec.controlnets[k]!.name));
  // diffusers forces guess mode when the (first) ControlNet pools its conditions globally (shuffle).
  const guessMode = spec.guessMode || (controlnets[0]?.signature.pooled ?? false);
  if (guessMode && !spec.guessMode) {
    warnings.push(`guess_mode: on, because ControlNet ${spec.controlnets[0]!.name} pools its conditions globally (as diffusers does)`);
  }
  const mixed = mixedProviders([
    { kind: 'unet', ...unet },
    { kind: 'vae_decoder', ...vaeDecoder },
    ...controlnets.map((c) => ({ kind: 'controlnet' as const, ...c })),
  ]);
  if (mixed) warnings.push(`execution providers: ${mixed}`);
  if (description.family === 'sdxl' && vaeDecoder.signature.floatType === 'float16') {
    // diffusers upcasts SDXL's VAE (force_upcast); an ONNX graph's type is fixed, so say what to install instead.
    warnings.push(
      `vae: model ${spec.model.id}'s VAE decoder is float16, where SDXL's VAE overflows (black or NaN images); export it in float32 ` +
        '(scripts/export_onnx.py keeps the VAE float32) or use the fp16-fixed SDXL VAE',
    );
  }

  const encodeStart = performance.now();
  const family = familyOf(description);
  const text = await family.encodePrompt(
    models,
    spec.model,
    description,
    {
      prompt: spec.prompt,
      negativePrompt: spec.negativePrompt,
      width: spec.width,
      height: spec.height,
      samples: n,
      guided,
      clipSkip: spec.clipSkip ?? 1,
      floatType: unet.signature.floatType,
    },
    runner,
  );
  if (text.truncated) warnings.push(`prompt: ${text.truncated}`);
  const providers: Record<string, string> = { ...text.providers, unet: unet.provider, vae_decoder: vaeDecoder.provider };
  controlnets.forEach((c, k) => (providers[`controlnet:${spec.controlnets[k]!.name}`] = c.provider));
  if (vaeEncoder) providers.vae_encoder = vaeEncoder.provider;

  const hintStart = performance.now();
  const cnBatch = guided && !guessMode ? 2 * n : n;
  const conds = await controlInputs(
    spec,
    models,
    controlnets.map((c) => c.signature.floatType),
    cnBatch,
  );
  const hintMs = performance.now() - hintStart;

  const { scheduler, timesteps, stepsRun } = schedule(spec, mode);
  const grid = latentGrid(description, spec.width, spec.height);
  const generator = new TorchGenerator(spec.seed);
  const prepared = await prepareLatents({ spec, mode, description, grid, generator, scheduler, firstTimestep: timesteps[0]!, vaeEncoder, runner });
  const encodeMs = performance.now() - encodeStart - hintMs;

  const stepGraph = await fusedStepFor(models, unet, controlnets, (spec.model.loras?.length ?? 0) > 0, {
    guess: guessMode,
    halfBatch: guessMode && guided,
    guessScales: Array.from(description.guessModeScales),
  });
  if (stepGraph.warning) warnings.push(stepGraph.warning);
  const denoise = new DenoiseStep(
    {
      description,
      grid,
      unet,
      controlnets: controlnets.map((loaded, k) => ({ loaded, cond: conds[k]!, conditioningScale: spec.controlnets[k]!.conditioningScale })),
      text,
      samples: n,
      guidanceScale: spec.guidanceScale,
      guessMode,
      fused: stepGraph.session,
    },
    runner,
  );
  const latents = prepared.latents;
  for (let i = 0; i < timesteps.length; i++) {
    await denoise.step(scheduler, latents, timesteps[i]!, generator);
    prepared.afterStep?.(latents, scheduler, i < timesteps.length - 1 ? timesteps[i + 1]! : null);
    onProgress?.({ step: i + 1, total: timesteps.length });
  }

  const upscaler = spec.upscale ? await models.upscaler(spec.upscale.modelPath) : null;
  if (upscaler) providers.upscaler = upscaler.provider;
  const checker = spec.safetyChecker ? await models.safetyChecker(spec.safetyChecker.modelPath) : null;
  if (checker) providers.safety_checker = checker.provider;
  let upscaled: GenerationResult['upscaled'] = null;
  const nsfw: boolean[] = [];
  const images: Uint8Array[] = [];
  for await (const decoded of decodeLatents(vaeDecoder, latents, n, description, grid, runner)) {
    let image = decoded;
    // diffusers checks the decoded image; a flagged one becomes black (at the final size when upscaled).
    const flagged = checker && spec.safetyChecker ? await safetyCheck(checker, spec.safetyChecker.conceptsPath, decoded, runner) : false;
    if (checker) nsfw.push(flagged);
    if (upscaler && spec.upscale) {
      const done = await upscaleImage(upscaler, decoded, spec.upscale.factor, runner);
      image = done.image;
      upscaled = { name: spec.upscale.name, factor: spec.upscale.factor, modelScale: done.modelScale, width: image.width, height: image.height };
    }
    if (flagged) image = blankLike(image);
    images.push(await encodePng(image));
  }

  return {
    images,
    mode,
    stepsRun,
    usedKarrasSigmas: scheduler.usesKarrasSigmas,
    guessMode,
    stepGraph: stepGraph.session ? 'fused' : 'separate',
    algorithmType: spec.scheduler === 'DPMSolverMultistepScheduler' ? normalisedAlgorithm(spec.algorithmType) : null,
    providers,
    warnings,
    upscaled,
    nsfw: checker ? nsfw : null,
    timings: { totalMs: performance.now() - started, runMs: runner.runMs, runBytes: runner.runBytes, hintMs, encodeMs },
  };
}

/**
 * The fused step session when FUSED_STEP allows it (auto: not for guess mode) and the graphs fit (fused-step-graph.ts's fusedCoverage), on the
 * UNet's provider; else none, with the reason as a warning under FUSED_STEP=on.
 */
async function fusedStepFor(
  models: ModelSessions,
  unet: Loaded<UNetSignature>,
  controlnets: readonly Loaded<ControlNetSignature>[],
  loraMerged: boolean,
  variant: FusedVariant,
) {
  const mode = models.settings.fusedStep ?? 'auto';
  if (mode === 'off') return { session: undefined, warning: null };
  let why = fusedCoverage(
    unet.signature,
    controlnets.map((c) => c.signature),
  );
  // auto fuses the common variant only: guess mode would be a second graph (a second copy of the weights, or a
  // rebuild whenever requests alternate with FUSED_STEP_CACHE=1); FUSED_STEP=on fuses it too.
  if (!why && variant.guess && mode === 'auto') return { session: undefined, warning: null };
  if (!why && controlnets.some((c) => c.provider !== unet.provider)) why = 'the ControlNets and the UNet run on different providers';
  // The fused graph is built from the exported files: a UNet with LoRA weights merged in memory runs separately.
  if (!why && loraMerged) why = 'a LoRA is merged into the UNet';
  if (why) return { session: undefined, warning: mode === 'on' ? `FUSED_STEP: the separate sessions ran, because ${why}` : null };
  const fused = await models.fused.get(unet, controlnets, variant, unet.provider, mode === 'on');
  if (!fused.session) return { session: undefined, warning: mode === 'on' ? `FUSED_STEP: the separate sessions ran, because ${fused.skipped}` : null };
  return { session: fused.session, warning: null };
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
