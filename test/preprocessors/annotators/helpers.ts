import ort from 'onnxruntime-node';
import type { GraphBuilder } from '../../../src/onnx/graph.js';
import { encodeModel } from '../../../src/onnx/model-file.js';
import type { AnnotatorSessions } from '../../../src/preprocessors/types.js';

/** AnnotatorSessions serving in-memory tiny graphs by annotator name (others are "not installed"). */
export function graphAnnotators(graphs: Record<string, GraphBuilder>): AnnotatorSessions & { asked: string[] } {
  const open = new Map<string, Promise<ort.InferenceSession>>();
  const asked: string[] = [];
  return {
    asked,
    async session(name: string) {
      asked.push(name);
      const g = graphs[name];
      if (g === undefined) return null;
      let s = open.get(name);
      if (s === undefined) {
        s = ort.InferenceSession.create(encodeModel(g), { intraOpNumThreads: 1 });
        open.set(name, s);
      }
      return s;
    },
  };
}

/** A w×h RGB image with `paint(x, y)` giving the [r, g, b] of each pixel. */
export function paintColour(
  w: number,
  h: number,
  paint: (x: number, y: number) => readonly [number, number, number],
): import('../../../src/image/types.js').RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(paint(x, y), (y * w + x) * 3);
  return { data, width: w, height: h, channels: 3 };
}

/** The RGB triple at (x, y). */
export function pixel(image: { data: Uint8Array; width: number; channels: number }, x: number, y: number): number[] {
  const o = (y * image.width + x) * image.channels;
  return Array.from(image.data.subarray(o, o + image.channels));
}
