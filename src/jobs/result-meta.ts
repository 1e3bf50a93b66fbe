import type { GenerationResult, GenerationSpec } from '../domain/index.js';

/** The meta fields only the finished generation knows (what really ran). */
export function resultMeta(spec: Pick<GenerationSpec, 'strength'>, result: GenerationResult): Record<string, unknown> {
  return {
    mode: result.mode,
    use_karras_sigmas: result.usedKarrasSigmas ? 'yes' : 'no',
    guess_mode: result.guessMode ? 'yes' : 'no',
    algorithm_type: result.algorithmType,
    denoising_steps: result.stepsRun,
    strength: result.mode === 'txt2img' ? 1 : spec.strength,
    execution_providers: result.providers,
    step_graph: result.stepGraph ?? 'separate',
    ...(result.nsfw ? { nsfw_content_detected: result.nsfw } : {}),
    ...(result.upscaled
      ? {
          upscale: {
            factor: result.upscaled.factor,
            model: result.upscaled.name,
            model_scale: result.upscaled.modelScale,
            W: result.upscaled.width,
            H: result.upscaled.height,
          },
        }
      : {}),
  };
}
