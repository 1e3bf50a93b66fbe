/**
 * Stable Diffusion XL, as diffusers' StableDiffusionXLControlNet{,Img2Img,Inpaint}Pipeline.encode_prompt and
 * _get_add_time_ids (v0.27.2): two CLIP tokenizers and text encoders; each encoder's penultimate hidden states
 * (`hidden_states.<N-1>`, before the final layer norm; clip_skip c takes `hidden_states.<N-c>`) concatenated on the
 * channel axis; the pooled `text_embeds` of the second encoder; with force_zeros_for_empty_prompt, an absent (null)
 * negative prompt is all zeros (an empty string is encoded). time_ids = (original size, crop top-left (0, 0), target
 * size) for both halves — the base model's; `aesthetic_score` is for refiners only. 1024² by default.
 */
import type * as ort from 'onnxruntime-node';
import { FAMILY_DEFAULT_SIDE } from '../../domain/index.js';
import type { TextEncoderSignature } from '../../runtime/signatures.js';
import { floatTensor, idsTensor, toFloat32 } from '../../runtime/tensors.js';
import { repeatBatch } from '../../tensor/ops.js';
import type { ClipTokenizer } from '../../tokenizer/clip-tokenizer.js';
import { GenerationError } from '../errors.js';
import type { ModelDescription } from '../model-description.js';
import { TIME_IDS } from '../model-description.js';
import type { Loaded } from '../model-sessions.js';
import type { SessionRunner } from '../session-runner.js';
import type { ModelFamily, TextConditioning } from './model-family.js';
import { embeddingsFor } from '../../embeddings/embedding-set.js';
import { tokenizerWithEmbeddings } from '../../embeddings/trigger-words.js';

/** One encoder's result per text: the chosen hidden states [L, D] and, where asked, the pooled embedding [P]. */
interface Encoded {
  hidden: Float32Array[];
  pooled: Float32Array[];
}

/** The hidden_states output that clip_skip c (1 = diffusers' default, hidden_states[-2]) selects. */
function sdxlHiddenOutput(signature: TextEncoderSignature, clipSkip: number, label: string) {
  const layers = signature.hiddenStates.length - 1;
  if (clipSkip > layers) throw new GenerationError(`clip_skip: this model's ${label} has ${layers} layers; clip_skip can be at most ${layers}`);
  return signature.hiddenStates[layers - clipSkip]!;
}

async function encodeTexts(
  encoder: Loaded<TextEncoderSignature>,
  label: string,
  ids: Int32Array[],
  clipSkip: number,
  withPooled: boolean,
  runner: SessionRunner,
): Promise<Encoded> {
  const sig = encoder.signature;
  const hiddenOut = sdxlHiddenOutput(sig, clipSkip, label);
  const pooledOut = withPooled ? sig.pooled : null;
  if (withPooled && !pooledOut) throw new GenerationError(`${label} has no text_embeds output`);
  const L = ids[0]!.length;
  const fixedBatch = typeof sig.inputIds.shape[0] === 'number' ? sig.inputIds.shape[0] : null;
  const groups = fixedBatch === null || fixedBatch === ids.length ? [ids] : ids.map((t) => [t]);
  const out: Encoded = { hidden: [], pooled: [] };
  for (const group of groups) {
    const batch = new Int32Array(group.length * L);
    group.forEach((t, k) => batch.set(t, k * L));
    const result = await runner.run(label, encoder.session, { [sig.inputIds.name]: idsTensor(sig.inputIds.type, batch, [group.length, L]) });
    const hidden = toFloat32(result[hiddenOut.name] as ort.Tensor);
    const pooled = pooledOut ? toFloat32(result[pooledOut.name] as ort.Tensor) : null;
    for (let k = 0; k < group.length; k++) {
      const per = hidden.length / group.length;
      out.hidden.push(hidden.subarray(k * per, (k + 1) * per));
      if (pooled) {
        const p = pooled.length / group.length;
        out.pooled.push(pooled.subarray(k * p, (k + 1) * p));
      }
    }
  }
  return out;
}

/** [L, D1] and [L, D2] → [L, D1 + D2] (torch.concat(..., dim=-1)). */
function concatChannels(a: Float32Array, b: Float32Array, L: number): Float32Array {
  const d1 = a.length / L;
  const d2 = b.length / L;
  const out = new Float32Array(L * (d1 + d2));
  for (let t = 0; t < L; t++) {
    out.set(a.subarray(t * d1, (t + 1) * d1), t * (d1 + d2));
    out.set(b.subarray(t * d2, (t + 1) * d2), t * (d1 + d2) + d1);
  }
  return out;
}

/** [uncond × n; cond × n] with CFG, cond × n without. */
function batched(uncond: Float32Array | null, cond: Float32Array, n: number): Float32Array {
  const c = repeatBatch(cond, n);
  if (!uncond) return c;
  const all = new Float32Array(2 * c.length);
  all.set(repeatBatch(uncond, n), 0);
  all.set(c, c.length);
  return all;
}

/** diffusers' _get_add_time_ids for a base model: original (h, w), crop top-left (0, 0), target (h, w). */
export function timeIds(width: number, height: number): Float32Array {
  return Float32Array.of(height, width, 0, 0, height, width);
}

function requireAdded(description: ModelDescription) {
  if (!description.addedConditions) throw new GenerationError('SDXL family used for a model without text_embeds and time_ids');
  return description.addedConditions;
}

export const SDXL_FAMILY: ModelFamily = {
  name: 'sdxl',
  defaultSize: { width: FAMILY_DEFAULT_SIDE.sdxl, height: FAMILY_DEFAULT_SIDE.sdxl },

  async encodePrompt(models, model, description, request, runner): Promise<TextConditioning> {
    const added = requireAdded(description);
    const files = model.sdxl;
    if (!files) throw new GenerationError(`model ${model.id} has no text_encoder_2/ (SDXL)`);
    const loads = [
      models.tokenizer(model.tokenizerDir),
      models.tokenizer(files.tokenizer2Dir),
      models.textEncoder(model.textEncoder, model.loras, 'text_encoder', embeddingsFor(model, 'text_encoder')),
      models.textEncoder(files.textEncoder2, model.loras, 'text_encoder_2', embeddingsFor(model, 'text_encoder_2')),
    ] as const;
    // All settle before a failure is thrown (an embedding refused for one encoder while the other's session is
    // still opening): the job never ends with a session creation in flight.
    await Promise.allSettled(loads);
    const [plainTokenizer, plainTokenizer2, encoder, encoder2] = await Promise.all(loads);
    // Textual-inversion tokens, added to each tokenizer with the rows of its own text encoder.
    const tokenizer = tokenizerWithEmbeddings(plainTokenizer, encoder.addedTokens, model.embeddings);
    const tokenizer2 = tokenizerWithEmbeddings(plainTokenizer2, encoder2.addedTokens, model.embeddings);
    const n = request.samples;
    const L = description.textLength;
    const zeroNegative = request.negativePrompt === null && files.forceZerosForEmptyPrompt;
    const encodeNegative = request.guided && !zeroNegative;
    const texts = (t: ClipTokenizer) => {
      const positive = t.encode(request.prompt);
      return { positive, ids: encodeNegative ? [t.encode(request.negativePrompt ?? '').ids, positive.ids] : [positive.ids] };
    };
    const first = texts(tokenizer);
    const second = texts(tokenizer2);
    const [e1, e2] = await Promise.all([
      encodeTexts(encoder, 'text_encoder', first.ids, request.clipSkip, false, runner),
      encodeTexts(encoder2, 'text_encoder_2', second.ids, request.clipSkip, true, runner),
    ]);
    const last = first.ids.length - 1;
    const condHidden = concatChannels(e1.hidden[last]!, e2.hidden[last]!, L);
    const condPooled = e2.pooled[last]!;
    let uncondHidden: Float32Array | null = null;
    let uncondPooled: Float32Array | null = null;
    if (request.guided) {
      uncondHidden = encodeNegative ? concatChannels(e1.hidden[0]!, e2.hidden[0]!, L) : new Float32Array(condHidden.length);
      uncondPooled = encodeNegative ? e2.pooled[0]! : new Float32Array(condPooled.length);
    }
    const D = condHidden.length / L;
    const P = condPooled.length;
    const batch = request.guided ? 2 * n : n;
    const type = request.floatType;
    const ids = timeIds(request.width, request.height);
    const allIds = new Float32Array(batch * TIME_IDS);
    for (let b = 0; b < batch; b++) allIds.set(ids, b * TIME_IDS);
    const condIds = allIds.subarray(0, n * TIME_IDS);
    return {
      hidden: floatTensor(type, batched(uncondHidden, condHidden, n), [batch, L, D]),
      condHidden: floatTensor(type, repeatBatch(condHidden, n), [n, L, D]),
      extra: {
        all: {
          [added.textEmbeds]: floatTensor(type, batched(uncondPooled, condPooled, n), [batch, P]),
          [added.timeIds]: floatTensor(type, allIds, [batch, TIME_IDS]),
        },
        cond: {
          [added.textEmbeds]: floatTensor(type, repeatBatch(condPooled, n), [n, P]),
          [added.timeIds]: floatTensor(type, condIds.slice(), [n, TIME_IDS]),
        },
      },
      truncated: first.positive.truncated === null ? null : `longer than the text encoders' ${L} tokens; this part was ignored: "${first.positive.truncated}"`,
      providers: { text_encoder: encoder.provider, text_encoder_2: encoder2.provider },
    };
  },

  zeroConditioning(description, batch, floatType) {
    const added = requireAdded(description);
    if (description.hiddenSize === null || added.pooledWidth === null) throw new GenerationError('warm-up: the UNet leaves the text width symbolic');
    const dims = [batch, description.textLength, description.hiddenSize];
    const hidden = floatTensor(floatType, new Float32Array(dims[0]! * dims[1]! * dims[2]!), dims);
    const extra = {
      [added.textEmbeds]: floatTensor(floatType, new Float32Array(batch * added.pooledWidth), [batch, added.pooledWidth]),
      [added.timeIds]: floatTensor(floatType, new Float32Array(batch * TIME_IDS), [batch, TIME_IDS]),
    };
    return { hidden, condHidden: hidden, extra: { all: extra, cond: extra }, truncated: null, providers: {} };
  },
};
