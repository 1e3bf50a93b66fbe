/**
 * A tiny stand-in for an exported SD safety checker with the real I/O (`clip_input [b,3,224,224]` → `image_embeds
 * [b,4]`): the embedding is (mean R, mean G, mean B of the normalised input, 1), so an image's embedding is known
 * in advance and a test decides the verdict with concepts.json (e.g. a concept equal to one image's embedding).
 */
import { GraphBuilder } from '../../src/onnx/graph.js';
import type { SafetyConcepts } from '../../src/safety/rule.js';

export const TINY_SAFETY_WIDTH = 4;

export function tinySafetyCheckerGraph(): GraphBuilder {
  const g = new GraphBuilder('tiny-safety-checker', { seed: 0, storage: 'float32' });
  const x = g.input('clip_input', 'float32', ['batch', 3, 224, 224]);
  const mean = g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 });
  const w = g.float32([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [3, 4]);
  const embeds = g.op('Add', [g.op('MatMul', [mean, w]), g.float32([0, 0, 0, 1], [4])]);
  g.output(embeds, 'image_embeds', 'float32', ['batch', TINY_SAFETY_WIDTH]);
  return g;
}

/**
 * concepts.json with one concept (and one special-care embedding) at `embedding`, threshold `threshold` each; the
 * other 16 concepts and 2 special-care embeddings point away (−embedding) with threshold 1, so they never fire.
 */
export function tinySafetyConcepts(embedding: readonly number[], threshold: number, specialThreshold = 1): SafetyConcepts {
  const away = embedding.map((v) => -v);
  return {
    concept_embeds: [[...embedding], ...Array.from({ length: 16 }, () => away)],
    concept_embeds_weights: [threshold, ...Array<number>(16).fill(1)],
    special_care_embeds: [[...embedding], away, away],
    special_care_embeds_weights: [specialThreshold, 1, 1],
  };
}
