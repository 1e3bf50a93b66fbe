/**
 * One description of a base model, built once when its sessions open, from the graphs' input/output metadata and
 * the folder's configs: what SD 1.5's constants used to say (13 residuals and their levels, guess-mode i/12, 4
 * latent channels, VAE factor 8, 77 tokens, 0.18215), read from the model instead. Every pipeline stage takes its
 * sizes from here.
 */
import type { BaseModelFiles } from '../domain/index.js';
import type { TextEncoderSignature, UNetSignature, VaeSignature } from '../runtime/signatures.js';
import { SignatureError } from '../runtime/signatures.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { residualLayout, ResidualLayoutError, type ResidualSlot } from './residual-layout.js';

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/** SDXL's added-condition inputs of the UNet (and its ControlNets), by name. */
export interface AddedConditionInputs {
  /** The pooled, projected text embedding [batch, width] (`text_embeds`). */
  textEmbeds: string;
  /** Original size, crop top-left and target size [batch, 6] (`time_ids`). */
  timeIds: string;
  /** text_embeds' width (SDXL: 1280), null when no graph states it. */
  pooledWidth: number | null;
}

export interface ModelDescription {
  /** The model family module that supplies text encoding and extra inputs (family/). */
  family: 'sd' | 'sdxl';
  /** SDXL: the UNet's text_embeds and time_ids inputs; null for SD 1.x/2.x. */
  addedConditions: AddedConditionInputs | null;
  /** The UNet's residual inputs: down residuals in order, then the mid one. */
  residuals: readonly ResidualSlot[];
  /** Per residual, diffusers' guess-mode factor: torch.logspace(-1, 0, n) in float32. */
  guessModeScales: Float32Array;
  latentChannels: number;
  /** Image pixels per latent pixel: 2^(VAE blocks − 1), 8 for SD. */
  vaeScaleFactor: number;
  /** The VAE's latent scaling factor (0.18215 for SD 1.x/2.x). */
  scalingFactor: number;
  /** Token positions of the text encoder (77 for CLIP). */
  textLength: number;
  /** Width of the text states the UNet attends to (768 SD 1.x, 1024 SD 2.x), null when no graph states it. */
  hiddenSize: number | null;
  /** What the UNet predicts (scheduler config `prediction_type`). */
  predictionType: PredictionType;
}

/**
 * diffusers' guess-mode scales, `torch.logspace(-1, 0, n)` as torch's CPU kernel computes them: in double, the
 * first half counting up from the start and the second half down from the end, then rounded to float32.
 */
export function guessModeScales(n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) return out.fill(0.1);
  const step = 1 / (n - 1);
  const halfway = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = 10 ** (i < halfway ? -1 + step * i : 0 - step * (n - i - 1));
  return out;
}

const staticDim = (d: number | string | undefined): number | null => (typeof d === 'number' ? d : null);
const positiveInts = (v: unknown): number[] | null =>
  Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0) ? (v as number[]) : null;

export interface DescribedParts {
  unet: UNetSignature;
  textEncoder: TextEncoderSignature;
  vaeDecoder: VaeSignature;
  tokenizer: ClipTokenizer;
  /** SDXL's second text encoder and tokenizer (the folder's text_encoder_2/, tokenizer_2/). */
  textEncoder2?: TextEncoderSignature;
  tokenizer2?: ClipTokenizer;
}

/** Time ids: original size (h, w), crop top-left (y, x), target size (h, w). */
export const TIME_IDS = 6;

/** Builds the description; a model whose graphs contradict each other fails with a SignatureError naming them. */
export function describeModel(model: BaseModelFiles, parts: DescribedParts): ModelDescription {
  const { unet, textEncoder, vaeDecoder, tokenizer } = parts;
  const addedConditions = sdxlInputs(model.id, unet, parts);
  const unetConfig = model.configs?.unet ?? {};
  const vaeConfig = model.configs?.vae ?? {};
  let residuals: ResidualSlot[];
  try {
    residuals = residualLayout(unet.residuals, unet.sample, unetConfig);
  } catch (err) {
    if (err instanceof ResidualLayoutError) throw new SignatureError(`model ${model.id}: the UNet ${err.message}`);
    throw err;
  }

  const unetIn = staticDim(unet.sample.shape[1]);
  const unetOut = staticDim(unet.output.shape[1]);
  if (unetIn !== null && unetOut !== null && unetIn !== unetOut) {
    throw new SignatureError(
      `model ${model.id}: the UNet takes ${unetIn} channels and predicts ${unetOut} (an inpainting UNet, latents + mask + masked image?); ` +
        'only UNets that denoise their own latents are supported',
    );
  }
  const latentChannels =
    unetIn ?? unetOut ?? staticDim(vaeDecoder.input.shape[1]) ?? numberOr(vaeConfig.latent_channels) ?? numberOr(unetConfig.out_channels) ?? 4;
  const decoderIn = staticDim(vaeDecoder.input.shape[1]) ?? numberOr(vaeConfig.latent_channels);
  if (decoderIn !== null && decoderIn !== latentChannels) {
    throw new SignatureError(`model ${model.id}: the UNet works on ${latentChannels} latent channels but the VAE decoder takes ${decoderIn}`);
  }

  const vaeBlocks = positiveInts(vaeConfig.block_out_channels);
  const graphFactor = ratio(vaeDecoder.output.shape[2], vaeDecoder.input.shape[2]);
  const vaeScaleFactor = vaeBlocks ? 2 ** (vaeBlocks.length - 1) : (graphFactor ?? 8);

  const textLength = tokenizer.maxLength;
  for (const [what, d] of [
    ['text encoder input', textEncoder.inputIds.shape[1]],
    ['UNet encoder_hidden_states', unet.hiddenStates.shape[1]],
  ] as const) {
    const n = staticDim(d);
    if (n !== null && n !== textLength) {
      throw new SignatureError(`model ${model.id}: the tokenizer pads to ${textLength} tokens but the ${what} takes ${n}`);
    }
  }
  if (parts.tokenizer2 && parts.tokenizer2.maxLength !== textLength) {
    throw new SignatureError(`model ${model.id}: tokenizer/ pads to ${textLength} tokens but tokenizer_2/ to ${parts.tokenizer2.maxLength}`);
  }
  const width1 = staticDim(textEncoder.lastHiddenState.shape[2]);
  const width2 = parts.textEncoder2 ? staticDim(parts.textEncoder2.lastHiddenState.shape[2]) : 0;
  // SDXL concatenates both encoders' states on the channel axis.
  const encoderWidth = width1 !== null && width2 !== null ? width1 + width2 : null;
  const unetWidth = staticDim(unet.hiddenStates.shape[2]);
  if (encoderWidth !== null && unetWidth !== null && encoderWidth !== unetWidth) {
    throw new SignatureError(`model ${model.id}: the text encoder gives ${encoderWidth}-wide states but the UNet attends to ${unetWidth}`);
  }

  const prediction = model.schedulerConfig.prediction_type;
  return {
    family: addedConditions ? 'sdxl' : 'sd',
    addedConditions,
    residuals,
    guessModeScales: guessModeScales(residuals.length),
    latentChannels,
    vaeScaleFactor,
    scalingFactor: model.vaeScalingFactor,
    textLength,
    hiddenSize: unetWidth ?? encoderWidth ?? numberOr(unetConfig.cross_attention_dim),
    predictionType: prediction === 'v_prediction' || prediction === 'sample' ? prediction : 'epsilon',
  };
}

/**
 * SDXL's inputs, checked against the folder: a UNet with added conditions needs the second text encoder (with
 * `text_embeds` and `hidden_states.N` outputs) and tokenizer, and a folder with them needs a UNet that takes
 * text_embeds and time_ids. Null for SD 1.x/2.x.
 */
function sdxlInputs(id: string, unet: UNetSignature, parts: DescribedParts): AddedConditionInputs | null {
  const added = unet.addedConditions;
  const second = parts.textEncoder2;
  if (added.length === 0 && !second) return null;
  const names = added.map((s) => s.name).join(', ');
  if (!second || !parts.tokenizer2) {
    throw new SignatureError(
      `model ${id}: its UNet also takes ${names} (SDXL's added conditions) but the folder has no text_encoder_2/ and tokenizer_2/ (SDXL's second text encoder)`,
    );
  }
  const timeIds = added.find((s) => s.name === 'time_ids') ?? added.find((s) => s.shape[1] === TIME_IDS);
  const textEmbeds = added.find((s) => s.name === 'text_embeds') ?? added.find((s) => s !== timeIds);
  if (!timeIds || !textEmbeds || added.length !== 2) {
    throw new SignatureError(
      `model ${id}: it has SDXL's text_encoder_2/ but its UNet takes ${added.length === 0 ? 'no added conditions' : names}; an SDXL ControlNet UNet takes text_embeds and time_ids`,
    );
  }
  for (const [label, sig] of [
    ['text_encoder', parts.textEncoder],
    ['text_encoder_2', second],
  ] as const) {
    if (sig.hiddenStates.length < 2) {
      throw new SignatureError(
        `model ${id}: its ${label} has no hidden_states.<k> outputs, which SDXL takes its text states from; export it with optimum or scripts/export_onnx.py`,
      );
    }
  }
  if (!second.pooled) throw new SignatureError(`model ${id}: its text_encoder_2 has no text_embeds output (SDXL's pooled text embedding)`);
  const pooledWidth = staticDim(second.pooled.shape[1]);
  const unetPooled = staticDim(textEmbeds.shape[1]);
  if (pooledWidth !== null && unetPooled !== null && pooledWidth !== unetPooled) {
    throw new SignatureError(
      `model ${id}: text_encoder_2's ${second.pooled.name} is ${pooledWidth} wide but the UNet's ${textEmbeds.name} takes ${unetPooled}`,
    );
  }
  return { textEmbeds: textEmbeds.name, timeIds: timeIds.name, pooledWidth: pooledWidth ?? unetPooled };
}

function numberOr(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

/** out / in when both are static and it is a power of two. */
function ratio(out: number | string | undefined, input: number | string | undefined): number | null {
  if (typeof out !== 'number' || typeof input !== 'number' || input <= 0) return null;
  const r = out / input;
  return Number.isInteger(r) && r > 0 && (r & (r - 1)) === 0 ? r : null;
}
