/**
 * Runs each ControlNet, the UNet (CFG batch 2) and the VAE decoder once per allowed resolution at load time, so the
 * first request at that size does not pay for what the providers do on a new input shape: cuDNN's exhaustive
 * convolution-algorithm search (onnxruntime's default, which onnxruntime-node cannot change), TensorRT engine
 * builds, WebGPU shader compilation, arena growth. It drives the generation's own stages (denoise step, decode)
 * on zeros: only the shapes matter.
 */
import type { BaseModelFiles, WarmupReport, WarmupSize } from '../domain/index.js';
import { floatTensor } from '../runtime/tensors.js';
import { familyOf } from './family/index.js';
import type { ModelSessions } from './model-sessions.js';
import { SessionRunner } from './session-runner.js';
import { decodeLatents } from './stages/decode.js';
import { DenoiseStep } from './stages/denoise-step.js';
import { latentGrid } from './stages/latent-grid.js';

export type { WarmupReport, WarmupSize } from '../domain/index.js';

/** A mid-schedule timestep: any value works, the shapes are what count. */
const TIMESTEP = 500;
/** Any guidance above 1 runs the CFG batch of 2. */
const GUIDED = 7.5;

export async function warmUp(
  models: ModelSessions,
  model: BaseModelFiles,
  controlnetPaths: readonly string[],
  sizes: readonly WarmupSize[],
  log: (line: string) => void = () => {},
): Promise<WarmupReport[]> {
  const [description, unet, vaeDecoder, ...controlnets] = await Promise.all([
    models.describe(model),
    models.unet(model.unet),
    models.vaeDecoder(model.vaeDecoder),
    ...controlnetPaths.map((p) => models.controlnet(p)),
  ]);
  const text = familyOf(description).zeroConditioning(description, 2, unet.signature.floatType);
  const reports: WarmupReport[] = [];
  for (const size of sizes) {
    const started = performance.now();
    const runner = new SessionRunner();
    const grid = latentGrid(description, size.width, size.height);
    if (controlnets.length > 0) {
      const calls = controlnets.map((loaded) => ({
        loaded,
        cond: floatTensor(loaded.signature.floatType, new Float32Array(2 * 3 * size.height * size.width), [2, 3, size.height, size.width]),
        conditioningScale: 1,
      }));
      const step = new DenoiseStep({ description, grid, unet, controlnets: calls, text, samples: 1, guidanceScale: GUIDED, guessMode: false }, runner);
      await step.predict(new Float32Array(grid.size), TIMESTEP);
    } else {
      log(`warm-up ${size.width}x${size.height}: no ControlNet loaded, so the UNet was not run`);
    }
    for await (const image of decodeLatents(vaeDecoder, new Float32Array(grid.size), 1, description, grid, runner)) void image;
    const report = { ...size, ms: performance.now() - started, runMs: runner.runMs };
    log(
      `warm-up ${size.width}x${size.height} of ${model.id}: ${report.ms.toFixed(0)} ms (${Object.entries(report.runMs)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(', ')})`,
    );
    reports.push(report);
  }
  return reports;
}
