import type * as ort from 'onnxruntime-node';
import { repeatBatch } from '../tensor/ops.js';
import { floatTensor, idsTensor, toFloat32, type FloatType } from '../runtime/tensors.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import type { Loaded } from './model-sessions.js';
import type { TextEncoderSignature } from '../runtime/signatures.js';
import { GenerationError } from './errors.js';

export interface PromptEmbeddings {
  /** [uncond × n; cond × n] for classifier-free guidance, or cond × n without it. */
  unet: ort.Tensor;
  /** cond × n: what guess mode feeds the ControlNets. */
  cond: ort.Tensor;
  /** Text cut off by the 77-token limit, if any. */
  truncated: string | null;
}

type Run = (label: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => Promise<ort.InferenceSession.ReturnType>;

/**
 * Encodes prompt and negative prompt as diffusers' `encode_prompt` does (a null negative prompt is the
 * empty string), in one text-encoder call of batch 2 where the graph allows it, then repeats each for
 * the n samples. The result is kept in the UNet's float type so the loop never converts it again.
 */
export async function encodePrompts(
  tokenizer: ClipTokenizer,
  encoder: Loaded<TextEncoderSignature>,
  prompt: string,
  negativePrompt: string,
  samples: number,
  guided: boolean,
  target: FloatType,
  run: Run,
  clipSkip = 1,
): Promise<PromptEmbeddings> {
  const positive = tokenizer.encode(prompt);
  const texts = guided ? [tokenizer.encode(negativePrompt).ids, positive.ids] : [positive.ids];
  const { inputIds } = encoder.signature;
  const lastHiddenState = clipSkipOutput(encoder.signature, clipSkip);
  const L = positive.ids.length;
  const fixedBatch = typeof inputIds.shape[0] === 'number' ? inputIds.shape[0] : null;

  const outputs: Float32Array[] = [];
  if (fixedBatch === null || fixedBatch === texts.length) {
    const ids = new Int32Array(texts.length * L);
    texts.forEach((t, k) => ids.set(t, k * L));
    const result = await run('text_encoder', encoder.session, { [inputIds.name]: idsTensor(inputIds.type, ids, [texts.length, L]) });
    const hidden = toFloat32(result[lastHiddenState.name] as ort.Tensor);
    const per = hidden.length / texts.length;
    for (let k = 0; k < texts.length; k++) outputs.push(hidden.subarray(k * per, (k + 1) * per));
  } else {
    for (const t of texts) {
      const result = await run('text_encoder', encoder.session, { [inputIds.name]: idsTensor(inputIds.type, t, [1, L]) });
      outputs.push(toFloat32(result[lastHiddenState.name] as ort.Tensor));
    }
  }
  const per = outputs[0].length;
  const dim = per / L;
  const cond = repeatBatch(outputs[outputs.length - 1], samples);
  let all = cond;
  if (guided) {
    all = new Float32Array(2 * samples * per);
    all.set(repeatBatch(outputs[0], samples), 0);
    all.set(cond, samples * per);
  }
  return {
    unet: floatTensor(target, all, [all.length / per, L, dim]),
    cond: floatTensor(target, cond, [samples, L, dim]),
    truncated: positive.truncated,
  };
}

/**
 * The text states for the contract's clip_skip (1 = the last layer, as in A1111; diffusers' clip_skip is
 * one less): the layer N + 1 − clip_skip output after the final layer norm.
 */
export function clipSkipOutput(signature: TextEncoderSignature, clipSkip: number) {
  if (clipSkip <= 1) return signature.lastHiddenState;
  const states = signature.normedHiddenStates;
  if (states.length === 0) {
    throw new GenerationError(
      "clip_skip: this model's text encoder has no normed_hidden_states outputs; re-export it with scripts/export_onnx.py to use clip_skip above 1",
    );
  }
  const layers = states.length - 1;
  if (clipSkip > layers) throw new GenerationError(`clip_skip: this model's text encoder has ${layers} layers; clip_skip can be at most ${layers}`);
  return states[layers + 1 - clipSkip];
}
