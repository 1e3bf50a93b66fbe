/**
 * Times the pure-TypeScript hint preprocessors on a 512×512 photo (the astronaut fixture upscaled):
 * makeHint end to end (detect resolution 512, output 512×512, so no resizing around the detector) and the
 * detector cores alone. Then the model-based types' pre- and post-processing without the network: each
 * runs on a session that answers with outputs recorded once from its tiny annotator graph (real shapes,
 * no compute). Prints the median, min and max of several runs after one warm-up run.
 *
 *   npx tsx scripts/bench-preprocessors.ts [--runs 9]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { RawImage } from '../src/image/types.js';
import { depthGraph, hedGraph, lineartGraph, normalBaeGraph, pidinetGraph, segmentationGraph } from './tiny-models/annotators/dense.js';
import { faceMeshGraph } from './tiny-models/annotators/face-mesh.js';
import { mlsdGraph } from './tiny-models/annotators/mlsd.js';
import { openposeGraph } from './tiny-models/annotators/openpose.js';
import type { GraphBuilder } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/model-file.js';
import type { AnnotatorSessions } from '../src/preprocessors/types.js';
import { cannyEdges } from '../src/preprocessors/canny-edges.js';
import { contentShuffle } from '../src/preprocessors/content-shuffle.js';
import { detectSegments } from '../src/preprocessors/lsd/lsd.js';
import { seededRandom } from '../src/preprocessors/prng.js';
import { makeHint, PURE_HINT_TYPES } from '../src/preprocessors/registry.js';
import { rgbToGray } from '../src/preprocessors/rgb.js';
import { thickenLines } from '../src/preprocessors/scribble.js';

const SIZE = 512;

async function loadPhoto(): Promise<RawImage> {
  const path = fileURLToPath(new URL('../test/fixtures/astronaut.png', import.meta.url));
  const { data, info } = await sharp(path).resize(SIZE, SIZE, { kernel: 'lanczos3' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

async function time(runs: number, task: () => unknown): Promise<number[]> {
  await task();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await task();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

/**
 * A session that runs its graph once and then answers every run with those outputs: timing makeHint
 * with it measures everything but the network.
 */
async function replaySession(g: GraphBuilder): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(encodeModel(g), { intraOpNumThreads: 1 });
  let recorded: ort.InferenceSession.ReturnType | null = null;
  return new Proxy(session, {
    get(target, key) {
      if (key === 'run') return async (feeds: ort.InferenceSession.FeedsType) => (recorded ??= await target.run(feeds));
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A standing figure for the openpose maps: keypoints in the 23×23 cells of a 512-px detect image. */
function poseCells(): [number, number][] {
  const person: [number, number][] = [
    [256, 100],
    [256, 164],
    [200, 164],
    [176, 236],
    [160, 304],
    [312, 164],
    [336, 236],
    [352, 304],
    [220, 300],
    [212, 392],
    [208, 472],
    [292, 300],
    [300, 392],
    [304, 472],
    [240, 84],
    [272, 84],
    [220, 100],
    [292, 100],
  ];
  return person.map(([x, y]) => [((x + 0.5) * 184) / 512 / 8 - 0.5, ((y + 0.5) * 184) / 512 / 8 - 0.5]);
}

function faceLandmarks(): Float32Array {
  const points = new Float32Array(478 * 3);
  for (let i = 0; i < 478; i++) {
    const a = (2 * Math.PI * i) / 478;
    points.set([96 + 60 * Math.cos(a * 7), 96 + 70 * Math.sin(a * 5), 0], i * 3);
  }
  return points;
}

async function replayAnnotators(): Promise<AnnotatorSessions> {
  const mlsdLines = Array.from({ length: 40 }, (_, i) => ({ x1: 10 + i * 5, y1: 20, x2: 30 + i * 5, y2: 200, score: 0.5 }));
  const graphs: Record<string, GraphBuilder> = {
    midas: depthGraph(),
    normalbae: normalBaeGraph(),
    hed: hedGraph(),
    pidinet: pidinetGraph(),
    lineart: lineartGraph(),
    upernet: segmentationGraph({ background: 0, foreground: 12 }),
    openpose: openposeGraph({ height: 184, width: 184, people: [poseCells()] }),
    mediapipe_face: faceMeshGraph(faceLandmarks(), 5),
    mlsd: mlsdGraph(512, 512, mlsdLines),
  };
  const sessions = new Map<string, ort.InferenceSession>();
  for (const [name, g] of Object.entries(graphs)) sessions.set(name, await replaySession(g));
  return { session: async (name) => sessions.get(name) ?? null };
}

const MODEL_TYPES: readonly [string, string][] = [
  ['depth', 'MiDaS'],
  ['normal', 'NormalBAE'],
  ['hed', 'HED'],
  ['softedge', 'PiDiNet'],
  ['lineart', 'lineart'],
  ['segmentation', 'UperNet, 150 classes at 1/4'],
  ['openpose', 'body, 1 person'],
  ['face_detector', 'face mesh'],
  ['mlsd', 'M-LSD, 40 lines'],
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, got ${values.runs}`);

  const photo = await loadPhoto();
  const mask: RawImage = { data: new Uint8Array(SIZE * SIZE).map((_, i) => (i % SIZE < SIZE / 2 ? 255 : 0)), width: SIZE, height: SIZE, channels: 1 };
  const gray = Float64Array.from(rgbToGray(photo));
  const edges = cannyEdges(photo, 100, 200);

  const rows: [string, number[]][] = [];
  for (const type of PURE_HINT_TYPES) {
    rows.push([`makeHint ${type}`, await time(runs, () => makeHint(type, photo, { width: SIZE, height: SIZE, mask, seed: 1 }))]);
  }
  rows.push(['core cannyEdges (RGB)', await time(runs, () => cannyEdges(photo, 100, 200))]);
  rows.push(['core LSD detectSegments (luma)', await time(runs, () => detectSegments({ data: gray, width: SIZE, height: SIZE }))]);
  rows.push(['core contentShuffle', await time(runs, () => contentShuffle(photo, seededRandom(1)))]);
  rows.push(['core thickenLines (scribble)', await time(runs, () => thickenLines(edges, SIZE, SIZE))]);
  const annotators = await replayAnnotators();
  for (const [type, network] of MODEL_TYPES) {
    const label = `makeHint ${type} (${network}), network excluded`;
    rows.push([label, await time(runs, () => makeHint(type, photo, { width: SIZE, height: SIZE, annotators }))]);
  }

  const name = Math.max(...rows.map(([n]) => n.length));
  const fmt = (ms: number) => ms.toFixed(2).padStart(9);
  console.log(`${SIZE}x${SIZE} RGB, ${runs} runs after 1 warm-up, node ${process.version}`);
  console.log(`| ${'preprocessor'.padEnd(name)} | median ms |    min ms |    max ms |`);
  console.log(`| ${'-'.repeat(name)} | --------: | --------: | --------: |`);
  for (const [label, s] of rows) {
    console.log(`| ${label.padEnd(name)} | ${fmt(s[Math.floor(s.length / 2)])} | ${fmt(s[0])} | ${fmt(s[s.length - 1])} |`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench-preprocessors: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
