/**
 * Times the upscale stage's own work (tiling, float conversion, seams, bytes) around a tiny pixel-local 2×
 * network whose run() costs little, at 512² → 1024², untiled and in the default 256-px tiles; and the safety
 * checker's CLIP preprocessing of a 512² image.
 * Run: npx tsx scripts/bench-upscale.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveModel } from '../src/onnx/model-file.js';
import { ModelSessions } from '../src/pipeline/model-sessions.js';
import { SessionRunner } from '../src/pipeline/session-runner.js';
import { DEFAULT_TILES, upscaleImage } from '../src/pipeline/stages/upscale.js';
import { clipInput } from '../src/safety/clip-input.js';
import { pixelUpscalerGraph } from './tiny-models/upscalers/real-esrgan.js';

const RUNS = 7;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-upscale-'));
const models = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 0 });
try {
  const file = path.join(dir, 'model.onnx');
  saveModel(pixelUpscalerGraph(), file);
  const up = await models.upscaler(file);
  const image = { data: new Uint8Array(512 * 512 * 3).map((_, i) => (i * 7) & 255), width: 512, height: 512, channels: 3 as const };
  for (const [label, tiles] of [
    ['untiled', { tile: 4096, overlap: 0 }],
    [`tiles ${DEFAULT_TILES.tile}/${DEFAULT_TILES.overlap}`, DEFAULT_TILES],
  ] as const) {
    const total: number[] = [];
    const inRun: number[] = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const runner = new SessionRunner();
      const t = performance.now();
      await upscaleImage(up, image, 2, runner, tiles);
      if (r > 0) {
        total.push(performance.now() - t);
        inRun.push(runner.runMs.upscaler ?? 0);
      }
    }
    console.log(
      `upscale 512²→1024² ${label}: ${median(total).toFixed(1)} ms total, ${median(inRun).toFixed(1)} ms in run(), ${(median(total) - median(inRun)).toFixed(1)} ms stage overhead`,
    );
  }
  const prep: number[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t = performance.now();
    clipInput(image);
    if (r > 0) prep.push(performance.now() - t);
  }
  console.log(`safety checker CLIP preprocessing of 512²: ${median(prep).toFixed(1)} ms`);
} finally {
  await models.release();
  rmSync(dir, { recursive: true, force: true });
}
