/**
 * IPNDMScheduler: the improved pseudo linear multistep method (Zhang & Chen 2023, fourth-order
 * Adams–Bashforth) for v-diffusion models on continuous time t ∈ [1, 0] with α = cos(πt/2),
 * σ = sin(πt/2). diffusers uses it for Dance Diffusion; Stable Diffusion's UNet expects integer
 * timesteps 0–999 and predicts ε, so it cannot denoise with it.
 */
import { resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { torchLinspaceF32 } from './reference-numerics.js';
import { History } from './history.js';
import { adamsBashforth } from './kernels.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;
const PI32 = f32(Math.PI);

export const IPNDM_DEFAULTS = {
  num_train_timesteps: 1000,
  trained_betas: null as number[] | null,
};

export const IPNDM_REASON =
  'IPNDMScheduler drives v-diffusion models on continuous time t in [0, 1] (diffusers uses it for Dance Diffusion); ' +
  "Stable Diffusion's UNet expects timesteps 0-999 and predicts noise, so its steps would not denoise";

const ORDER = 4;

export class IPNDMScheduler extends SchedulerBase {
  readonly name = 'IPNDMScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof IPNDM_DEFAULTS;
  /** σ (diffusers' `betas`) and α of each point, with the final t = 0 appended. */
  private betas = new Float64Array(0);
  private alphas = new Float64Array(0);
  /** The last four combined estimates σ·x + α·v. */
  private readonly ets = new History(ORDER);

  constructor(config: SchedulerConfig) {
    super();
    this.cfg = resolveConfig(this.name, IPNDM_DEFAULTS, config);
    this.setTimesteps(this.cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const n = numInferenceSteps;
    const points = Float64Array.of(...torchLinspaceF32(1, 0, n + 1).subarray(0, n), 0);
    const trained = this.cfg.trained_betas;
    if (trained != null) {
      if (!Array.isArray(trained) || trained.length !== n + 1) {
        throw new SchedulerError(`${this.name}: trained_betas must hold num_inference_steps + 1 = ${n + 1} values`);
      }
      this.betas = Float64Array.from(trained, (b) => f32(Number(b)));
    } else {
      this.betas = points.map((s) => {
        const sin = f32(Math.sin(f32(f32(s * PI32) / 2)));
        return f32(sin * sin);
      });
    }
    this.alphas = this.betas.map((b) => f32(Math.sqrt(f32(1 - f32(b * b)))));
    this.timesteps = this.betas.subarray(0, n).map((b, i) => f32(f32(f32(Math.atan2(b, this.alphas[i])) / PI32) * 2));
    this.ets.clear();
    this.numInferenceSteps = n;
    this.resetStepIndex();
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.betas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const [sigma, alpha] = [this.betas[index], this.alphas[index]];
    const e = this.ets.push(n);
    for (let i = 0; i < n; i++) e[i] = f32(sample[i] * sigma) + f32(modelOutput[i] * alpha);

    // Adams–Bashforth of order min(k, 4) over the combined estimates.
    const newestFirst = Array.from({ length: this.ets.length }, (_, k) => this.ets.at(k));
    const estimate = adamsBashforth(this.buffer('estimate', n), newestFirst);

    const [nextSigma, nextAlpha] = [this.betas[index + 1], this.alphas[index + 1]];
    const divisor = alpha >= 1e-8 ? alpha : f32(1e-8); // Python's max(alpha, 1e-8)
    const out = this.outputBuffer(n);
    for (let i = 0; i < n; i++) {
      const pred = f32(f32(sample[i] - f32(sigma * estimate[i])) / divisor);
      out[i] = f32(nextAlpha * pred) + f32(estimate[i] * nextSigma);
    }
    this.stepIndex = index + 1;
    return { prevSample: out };
  }

  addNoise(): Float32Array {
    throw new SchedulerError(`${this.name} has no add_noise`);
  }
}
