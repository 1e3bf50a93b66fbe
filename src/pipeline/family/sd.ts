/** Stable Diffusion 1.x/2.x: one CLIP tokenizer and text encoder, encoder_hidden_states only, 512² by default. */
import { FAMILY_DEFAULT_SIDE } from '../../domain/index.js';
import { floatTensor } from '../../runtime/tensors.js';
import { GenerationError } from '../errors.js';
import { encodePrompts } from '../prompt-embeddings.js';
import type { ModelFamily } from './model-family.js';
import { embeddingsFor } from '../../embeddings/embedding-set.js';
import { tokenizerWithEmbeddings } from '../../embeddings/trigger-words.js';

export const SD_FAMILY: ModelFamily = {
  name: 'sd',
  defaultSize: { width: FAMILY_DEFAULT_SIDE.sd, height: FAMILY_DEFAULT_SIDE.sd },

  async encodePrompt(models, model, description, request, runner) {
    const [plainTokenizer, textEncoder] = await Promise.all([
      models.tokenizer(model.tokenizerDir),
      models.textEncoder(model.textEncoder, model.loras, 'text_encoder', embeddingsFor(model, 'text_encoder')),
    ]);
    const tokenizer = tokenizerWithEmbeddings(plainTokenizer, textEncoder.addedTokens, model.embeddings);
    const run = runner.run.bind(runner);
    const e = await encodePrompts(
      tokenizer,
      textEncoder,
      request.prompt,
      request.negativePrompt ?? '',
      request.samples,
      request.guided,
      request.floatType,
      run,
      request.clipSkip,
    );
    return {
      hidden: e.unet,
      condHidden: e.cond,
      extra: { all: {}, cond: {} },
      truncated: e.truncated === null ? null : `longer than the text encoder's ${description.textLength} tokens; this part was ignored: "${e.truncated}"`,
      providers: { text_encoder: textEncoder.provider },
    };
  },

  zeroConditioning(description, batch, floatType) {
    if (description.hiddenSize === null) throw new GenerationError('warm-up: the UNet leaves the text width symbolic');
    const dims = [batch, description.textLength, description.hiddenSize];
    const hidden = floatTensor(floatType, new Float32Array(dims[0]! * dims[1]! * dims[2]!), dims);
    return { hidden, condHidden: hidden, extra: { all: {}, cond: {} }, truncated: null, providers: {} };
  },
};
