/**
 * DPMSolverMultistepScheduler: DPM-Solver++ (Lu et al. 2022) in its multistep form, reusing the x0
 * estimates of previous steps; `sde-dpmsolver++` adds the SDE variant's noise each step.
 */
import { alphasCumprodFromConfig } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { firstOrderCoefficients, secondOrderCoefficients, thirdOrderCoefficients, type DpmAlgorithm, type DpmSolverType } from './dpm-solver-updates.js';
import { SchedulerError } from './errors.js';
import { History } from './history.js';
import { linearCombination, noisedVp, scaledDifference } from './kernels.js';
import { alphaSigma, clippedSteps, convertToX0, multistepSchedule, sigmaMinOf } from './multistep-schedule.js';
import { SchedulerBase } from './scheduler-base.js';
import { spacedTimestepsDroppingZero } from './timesteps.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const DPM_MULTISTEP_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

export const DPM_ALGORITHM_TYPES: readonly DpmAlgorithm[] = ['dpmsolver++', 'sde-dpmsolver++'];

/** diffusers maps the other solvers' names onto its own (`deis` → dpmsolver++, `logrho`/`bh*` → midpoint). */
export function dpmAlgorithm(className: string, value: string): DpmAlgorithm {
  return oneOf(className, 'algorithm_type', value === 'deis' ? 'dpmsolver++' : value, DPM_ALGORITHM_TYPES);
}

export function dpmSolverType(className: string, value: string): DpmSolverType {
  return oneOf(className, 'solver_type', ['logrho', 'bh1', 'bh2'].includes(value) ? 'midpoint' : value, ['midpoint', 'heun']);
}

export class DPMSolverMultistepScheduler extends SchedulerBase {
  readonly name = 'DPMSolverMultistepScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DPM_MULTISTEP_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  readonly algorithmType: DpmAlgorithm;
  private readonly solverType: DpmSolverType;
  override sigmas: Float64Array = new Float64Array(0);
  /** x0 estimates of the last `solver_order` steps. */
  private readonly modelOutputs: History;
  private lowerOrderNums = 0;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DPM_MULTISTEP_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas', 'use_dynamic_shifting']);
    oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    oneOf(this.name, 'final_sigmas_type', cfg.final_sigmas_type, ['zero', 'sigma_min']);
    if (!Number.isInteger(cfg.solver_order) || cfg.solver_order < 1 || cfg.solver_order > 3) {
      throw new SchedulerError(`${this.name}: solver_order must be 1, 2 or 3, got ${cfg.solver_order}`);
    }
    this.algorithmType = dpmAlgorithm(this.name, cfg.algorithm_type);
    this.modelOutputs = new History(cfg.solver_order);
    this.solverType = dpmSolverType(this.name, cfg.solver_type);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    if (cfg.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const T = this.cfg.num_train_timesteps;
    const last = T - clippedSteps(this.alphasCumprod, this.cfg.lambda_min_clipped);
    const spaced = spacedTimestepsDroppingZero(
      {
        spacing: this.cfg.timestep_spacing,
        numTrainTimesteps: T,
        steps: numInferenceSteps,
        stepsOffset: this.cfg.steps_offset,
        roundLinspace: true,
      },
      last,
    );
    const roundKarras = this.cfg.beta_schedule !== 'squaredcos_cap_v2';
    const { timesteps, sigmas } = multistepSchedule(this.alphasCumprod, spaced, this.cfg.use_karras_sigmas, roundKarras);
    const finalSigma = this.cfg.final_sigmas_type === 'sigma_min' ? sigmaMinOf(this.alphasCumprod) : 0;
    this.sigmas = Float64Array.of(...sigmas, finalSigma).map(f32);
    // diffusers casts the timesteps to int64.
    this.timesteps = timesteps.map(Math.trunc);
    this.numInferenceSteps = this.timesteps.length;
    this.modelOutputs.clear();
    this.lowerOrderNums = 0;
    this.resetStepIndex();
  }

  protected override indexForMissingTimestep(): number {
    return this.timesteps.length - 1;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const steps = this.timesteps.length;
    const order = this.cfg.solver_order;
    const lowerOrderFinal =
      index === steps - 1 && (this.cfg.euler_at_final || (this.cfg.lower_order_final && steps < 15) || this.cfg.final_sigmas_type === 'zero');
    const lowerOrderSecond = index === steps - 2 && this.cfg.lower_order_final && steps < 15;
    const n = sample.length;

    convertToX0(this.cfg.prediction_type, alphaSigma(this.sigmas[index]), modelOutput, sample, this.modelOutputs.push(n));

    const draw = this.algorithmType === 'sde-dpmsolver++' ? this.requireNoise(noise).randn(n) : null;
    const out = this.outputBuffer(n);
    if (order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) this.firstOrder(index, sample, draw, out);
    else if (order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) this.secondOrder(index, sample, draw, out);
    else this.thirdOrder(index, sample, draw, out);
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return { prevSample: out };
  }

  private firstOrder(index: number, sample: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const t = alphaSigma(this.sigmas[index + 1]);
    const s = alphaSigma(this.sigmas[index]);
    const coeffs = firstOrderCoefficients(this.algorithmType, t, s);
    linearCombination(out, coeffs, draw ? [sample, this.modelOutputs.at(0), draw] : [sample, this.modelOutputs.at(0)]);
  }

  private secondOrder(index: number, sample: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const s1 = alphaSigma(this.sigmas[index - 1]);
    const h = f32(t.lambda - s0.lambda);
    const r0 = f32(f32(s0.lambda - s1.lambda) / h);
    const m0 = this.modelOutputs.at(0);
    const d1 = scaledDifference(this.buffer('d1', sample.length), m0, this.modelOutputs.at(1), f32(1 / r0));
    const coeffs = secondOrderCoefficients(this.algorithmType, this.solverType, t, s0, h);
    linearCombination(out, coeffs, draw ? [sample, m0, d1, draw] : [sample, m0, d1]);
  }

  private thirdOrder(index: number, sample: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const n = sample.length;
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const s1 = alphaSigma(this.sigmas[index - 1]);
    const s2 = alphaSigma(this.sigmas[index - 2]);
    const h = f32(t.lambda - s0.lambda);
    const r0 = f32(f32(s0.lambda - s1.lambda) / h);
    const r1 = f32(f32(s1.lambda - s2.lambda) / h);
    const [m0, m1, m2] = [this.modelOutputs.at(0), this.modelOutputs.at(1), this.modelOutputs.at(2)];
    const d10 = scaledDifference(this.buffer('d1', n), m0, m1, f32(1 / r0));
    const d11 = scaledDifference(this.buffer('d1b', n), m1, m2, f32(1 / r1));
    // D1 = D1_0 + r0/(r0+r1)·(D1_0 - D1_1), D2 = (D1_0 - D1_1)/(r0+r1).
    const w = f32(r0 / f32(r0 + r1));
    const inv = f32(1 / f32(r0 + r1));
    const d1 = this.buffer('d1c', n);
    const d2 = this.buffer('d2', n);
    for (let i = 0; i < n; i++) {
      const diff = f32(d10[i] - d11[i]);
      d1[i] = d10[i] + f32(w * diff);
      d2[i] = inv * diff;
    }
    const coeffs = thirdOrderCoefficients(this.algorithmType, t, s0, h);
    linearCombination(out, coeffs, draw ? [sample, m0, d1, d2, draw] : [sample, m0, d1, d2]);
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = alphaSigma(this.sigmas[this.addNoiseIndex(timestep)]);
    return noisedVp(a.alpha, a.sigma, original, noise);
  }
}
