/**
 * DPMSolverSinglestepScheduler: DPM-Solver++ in its singlestep form: each order-k step starts from
 * the sample of the interval's first step and uses the k model calls made inside the interval.
 */
import { alphasCumprodFromConfig } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { dpmAlgorithm, dpmSolverType } from './dpm-multistep.js';
import { firstOrderCoefficients, secondOrderCoefficients, thirdOrderCoefficients, type DpmAlgorithm, type DpmSolverType } from './dpm-solver-updates.js';
import { SchedulerError } from './errors.js';
import { History } from './history.js';
import { linearCombination, noisedVp, scaledDifference } from './kernels.js';
import { alphaSigma, clippedSteps, convertToX0, multistepSchedule, sigmaMinOf } from './multistep-schedule.js';
import { numpyLinspace, roundHalfEven } from './reference-numerics.js';
import { SchedulerBase } from './scheduler-base.js';
import type { NoiseSource, SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;

export const DPM_SINGLESTEP_DEFAULTS = {
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
  lower_order_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

/** The order of each step: cycles of 1, 2(, 3) so every higher-order step has its interval's calls. */
export function singlestepOrders(steps: number, order: number, lowerOrderFinal: boolean, finalSigmaZero: boolean): number[] {
  const cycle = Array.from({ length: order }, (_, i) => i + 1);
  const repeat = (k: number) => Array.from({ length: k }, () => cycle).flat();
  let orders: number[];
  if (lowerOrderFinal && order === 3) {
    if (steps % 3 === 0) orders = [...repeat(steps / 3 - 1), 1, 2, 1];
    else if (steps % 3 === 1) orders = [...repeat((steps - 1) / 3), 1];
    else orders = [...repeat((steps - 2) / 3), 1, 2];
  } else if (lowerOrderFinal && order === 2) {
    orders = steps % 2 === 0 ? [...repeat(steps / 2 - 1), 1, 1] : [...repeat((steps - 1) / 2), 1];
  } else {
    orders = repeat(Math.floor(steps / order));
  }
  if (finalSigmaZero && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

export class DPMSolverSinglestepScheduler extends SchedulerBase {
  readonly name = 'DPMSolverSinglestepScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DPM_SINGLESTEP_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly algorithmType: DpmAlgorithm;
  private readonly solverType: DpmSolverType;
  override sigmas: Float64Array = new Float64Array(0);
  private readonly modelOutputs: History;
  private orderList: number[] = [];
  /** diffusers switches lower_order_final on for good once a schedule needs it. */
  private lowerOrderFinal: boolean;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DPM_SINGLESTEP_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_flow_sigmas', 'use_dynamic_shifting']);
    oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    oneOf(this.name, 'final_sigmas_type', cfg.final_sigmas_type, ['zero', 'sigma_min']);
    if (!Number.isInteger(cfg.solver_order) || cfg.solver_order < 1 || cfg.solver_order > 3) {
      throw new SchedulerError(`${this.name}: solver_order must be 1, 2 or 3, got ${cfg.solver_order}`);
    }
    this.algorithmType = dpmAlgorithm(this.name, cfg.algorithm_type);
    this.modelOutputs = new History(cfg.solver_order);
    this.solverType = dpmSolverType(this.name, cfg.solver_type);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
    this.lowerOrderFinal = cfg.lower_order_final;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const T = this.cfg.num_train_timesteps;
    const clipped = clippedSteps(this.alphasCumprod, this.cfg.lambda_min_clipped);
    const spaced = numpyLinspace(0, T - 1 - clipped, numInferenceSteps + 1)
      .reverse()
      .subarray(0, numInferenceSteps)
      .map(roundHalfEven);
    const { timesteps, sigmas } = multistepSchedule(this.alphasCumprod, spaced, this.cfg.use_karras_sigmas);
    const finalSigma = this.cfg.final_sigmas_type === 'sigma_min' ? sigmaMinOf(this.alphasCumprod) : 0;
    this.sigmas = Float64Array.of(...sigmas, finalSigma).map(f32);
    this.timesteps = timesteps.map(Math.trunc);
    this.numInferenceSteps = numInferenceSteps;
    this.modelOutputs.clear();
    const order = this.cfg.solver_order;
    if (numInferenceSteps % order !== 0 || this.cfg.final_sigmas_type === 'zero') this.lowerOrderFinal = true;
    this.orderList = singlestepOrders(numInferenceSteps, order, this.lowerOrderFinal, this.cfg.final_sigmas_type === 'zero');
    this.resetStepIndex();
  }

  protected override indexForMissingTimestep(): number {
    return this.timesteps.length - 1;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index >= this.orderList.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    convertToX0(this.cfg.prediction_type, alphaSigma(this.sigmas[index]), modelOutput, sample, this.modelOutputs.push(n));
    const draw = this.algorithmType === 'sde-dpmsolver++' ? this.requireNoise(noise).randn(n) : null;

    // After a begin index the interval may lack its earlier calls: lower the order to what exists.
    const order = Math.min(this.orderList[index], this.modelOutputs.length);
    // An interval starts at an order-1 step; its sample is the base of the whole interval.
    const base = this.buffer('intervalStart', n);
    if (order === 1) base.set(sample);
    const out = this.outputBuffer(n);
    if (order === 1) this.firstOrder(index, base, draw, out);
    else if (order === 2) this.secondOrder(index, base, draw, out);
    else this.thirdOrder(index, base, draw, out);
    this.stepIndex = index + 1;
    return { prevSample: out };
  }

  private firstOrder(index: number, base: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const coeffs = firstOrderCoefficients(this.algorithmType, alphaSigma(this.sigmas[index + 1]), alphaSigma(this.sigmas[index]));
    linearCombination(out, coeffs, draw ? [base, this.modelOutputs.at(0), draw] : [base, this.modelOutputs.at(0)]);
  }

  /** From s1 (the interval start) to t, with the midpoint evaluation at s0. */
  private secondOrder(index: number, base: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const s1 = alphaSigma(this.sigmas[index - 1]);
    const h = f32(t.lambda - s1.lambda);
    const r0 = f32(f32(s0.lambda - s1.lambda) / h);
    const [m0, m1] = [this.modelOutputs.at(0), this.modelOutputs.at(1)];
    const d1 = scaledDifference(this.buffer('d1', base.length), m0, m1, f32(1 / r0));
    const coeffs = secondOrderCoefficients(this.algorithmType, this.solverType, t, s1, h);
    linearCombination(out, coeffs, draw ? [base, m1, d1, draw] : [base, m1, d1]);
  }

  /** From s2 (the interval start) to t, with evaluations at s1 and s0. */
  private thirdOrder(index: number, base: Float32Array, draw: Float32Array | null, out: Float32Array): void {
    const n = base.length;
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const s1 = alphaSigma(this.sigmas[index - 1]);
    const s2 = alphaSigma(this.sigmas[index - 2]);
    const h = f32(t.lambda - s2.lambda);
    const r0 = f32(f32(s0.lambda - s2.lambda) / h);
    const r1 = f32(f32(s1.lambda - s2.lambda) / h);
    const [m0, m1, m2] = [this.modelOutputs.at(0), this.modelOutputs.at(1), this.modelOutputs.at(2)];
    const d10 = scaledDifference(this.buffer('d1', n), m1, m2, f32(1 / r1));
    const d11 = scaledDifference(this.buffer('d1b', n), m0, m2, f32(1 / r0));
    if (this.solverType === 'midpoint') {
      // The midpoint form uses D1_1 alone with the D1 weight: drop the D2 weight.
      const coeffs = thirdOrderCoefficients(this.algorithmType, t, s2, h).filter((_, i) => i !== 3);
      linearCombination(out, coeffs, draw ? [base, m2, d11, draw] : [base, m2, d11]);
      return;
    }
    // Heun form: D1 = (r0·D1_0 - r1·D1_1)/(r0 - r1), D2 = 2(D1_1 - D1_0)/(r0 - r1).
    const denom = f32(r0 - r1);
    const d1 = this.buffer('d1c', n);
    const d2 = this.buffer('d2', n);
    for (let i = 0; i < n; i++) {
      d1[i] = f32(f32(r0 * d10[i]) - f32(r1 * d11[i])) / denom;
      d2[i] = f32(2 * f32(d11[i] - d10[i])) / denom;
    }
    const coeffs = thirdOrderCoefficients(this.algorithmType, t, s2, h);
    linearCombination(out, coeffs, draw ? [base, m2, d1, d2, draw] : [base, m2, d1, d2]);
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = alphaSigma(this.sigmas[this.addNoiseIndex(timestep)]);
    return noisedVp(a.alpha, a.sigma, original, noise);
  }
}
