/**
 * UniPCMultistepScheduler: the unified predictor–corrector of Zhao et al. (2023): a UniP predictor
 * step, then, at the next call, a UniC correction of that step with the new model output.
 */
import { alphasCumprodFromConfig } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { alphaSigma, convertToX0, multistepSchedule, sigmaMinOf, type AlphaSigma } from './multistep-schedule.js';
import { History } from './history.js';
import { linearCombination, noisedVp } from './kernels.js';
import { SchedulerBase } from './scheduler-base.js';
import { solveF32 } from './small-solve.js';
import { spacedTimestepsDroppingZero } from './timesteps.js';
import type { SchedulerConfig, StepResult } from './types.js';
import { torchExpm1f } from '../math/sleef-float32.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const UNIPC_DEFAULTS = {
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
  predict_x0: true,
  solver_type: 'bh2',
  lower_order_final: true,
  disable_corrector: [] as number[],
  solver_p: null as unknown,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  final_sigmas_type: 'zero',
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

/** The weights of one UniP / UniC update over the points `rks` (ratios of λ steps), for `order` terms. */
interface UniCoefficients {
  hPhi1: number;
  bH: number;
  /** The b vector of the order conditions and the R matrix rows rks^(i-1). */
  b: number[];
  r: number[][];
}

export class UniPCMultistepScheduler extends SchedulerBase {
  readonly name = 'UniPCMultistepScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof UNIPC_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly solverType: 'bh1' | 'bh2';
  override sigmas: Float64Array = new Float64Array(0);
  /** Converted model outputs (x0, or ε when predict_x0 is off) of the last `solver_order` steps, oldest first. */
  private readonly modelOutputs: History;
  private lowerOrderNums = 0;
  private thisOrder = 0;
  private hasLastSample = false;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, UNIPC_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_flow_sigmas', 'use_dynamic_shifting']);
    if (cfg.solver_p != null) throw new SchedulerError(`${this.name}: config solver_p (an external predictor scheduler) is not supported`);
    oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    oneOf(this.name, 'final_sigmas_type', cfg.final_sigmas_type, ['zero', 'sigma_min']);
    // diffusers maps the other solvers' names to bh2.
    const solver = oneOf(this.name, 'solver_type', cfg.solver_type, ['bh1', 'bh2', 'midpoint', 'heun', 'logrho']);
    this.solverType = solver === 'bh1' ? 'bh1' : 'bh2';
    if (!Number.isInteger(cfg.solver_order) || cfg.solver_order < 1) {
      throw new SchedulerError(`${this.name}: solver_order must be a positive integer, got ${cfg.solver_order}`);
    }
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.modelOutputs = new History(cfg.solver_order);
    if (cfg.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const spaced = spacedTimestepsDroppingZero({
      spacing: this.cfg.timestep_spacing,
      numTrainTimesteps: this.cfg.num_train_timesteps,
      steps: numInferenceSteps,
      stepsOffset: this.cfg.steps_offset,
      roundLinspace: true,
    });
    const { timesteps, sigmas } = multistepSchedule(this.alphasCumprod, spaced, this.cfg.use_karras_sigmas);
    let finalSigma = 0;
    if (this.cfg.final_sigmas_type === 'sigma_min') {
      finalSigma = this.cfg.use_karras_sigmas ? sigmas[sigmas.length - 1] : sigmaMinOf(this.alphasCumprod);
    }
    this.sigmas = Float64Array.of(...sigmas, finalSigma).map(f32);
    this.timesteps = timesteps.map(Math.trunc);
    this.numInferenceSteps = this.timesteps.length;
    this.modelOutputs.clear();
    this.lowerOrderNums = 0;
    this.hasLastSample = false;
    this.resetStepIndex();
  }

  protected override indexForMissingTimestep(): number {
    return this.timesteps.length - 1;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const slots = this.cfg.solver_order;
    const converted = this.buffer('converted', n);
    const a = alphaSigma(this.sigmas[index]);
    if (this.cfg.predict_x0) convertToX0(this.cfg.prediction_type, a, modelOutput, sample, converted);
    else this.convertToEpsilon(a, modelOutput, sample, converted);

    // The corrector refines the previous step's prediction now that the model has seen it.
    const lastSample = this.buffer('lastSample', n);
    let x = sample;
    const useCorrector = index > 0 && !this.cfg.disable_corrector.includes(index - 1) && this.hasLastSample;
    if (useCorrector) x = this.correct(index, converted, lastSample, sample, this.thisOrder);

    this.modelOutputs.push(n).set(converted);

    const order = this.cfg.lower_order_final ? Math.min(slots, this.timesteps.length - index) : slots;
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1);
    lastSample.set(x);
    this.hasLastSample = true;
    const out = this.predict(index, lastSample, this.thisOrder);
    if (this.lowerOrderNums < slots) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return { prevSample: out };
  }

  private convertToEpsilon(a: AlphaSigma, modelOutput: Float32Array, sample: Float32Array, out: Float32Array): void {
    const p = this.cfg.prediction_type;
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      if (p === 'epsilon') out[i] = m;
      else if (p === 'sample') out[i] = f32(x - f32(a.alpha * m)) / a.sigma;
      else out[i] = f32(a.alpha * m) + f32(a.sigma * x);
    }
  }

  /** h-dependent weights: φ functions of hh = ∓h and the order conditions b, R (UniPC eq. 8, B(h) = bh1/bh2). */
  private coefficients(h: number, rks: number[], order: number): UniCoefficients {
    const hh = this.cfg.predict_x0 ? -h : h;
    const hPhi1 = torchExpm1f(hh);
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    const bH = this.solverType === 'bh1' ? hh : torchExpm1f(hh);
    const b: number[] = [];
    const r: number[][] = [];
    for (let i = 1; i <= order; i++) {
      r.push(rks.map((rk) => f32(rk ** (i - 1))));
      b.push(f32(f32(hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    return { hPhi1, bH, b, r };
  }

  /** ratios r_k = (λ_{s_k} - λ_{s0}) / h and the differences D1_k = (m_k - m0) / r_k, for k = 1..order-1. */
  private differences(sigmaIndex: (k: number) => number, lambda0: number, h: number, order: number, m0: Float32Array) {
    const rks: number[] = [];
    const d1s: Float32Array[] = [];
    for (let k = 1; k < order; k++) {
      const lk = alphaSigma(this.sigmas[sigmaIndex(k)]).lambda;
      const rk = f32(f32(lk - lambda0) / h);
      rks.push(rk);
      const mk = this.modelOutputs.at(k);
      const d = this.buffer(`d1.${k}`, m0.length);
      for (let i = 0; i < d.length; i++) d[i] = f32(mk[i] - m0[i]) / rk;
      d1s.push(d);
    }
    rks.push(1);
    return { rks, d1s };
  }

  /** UniP: the predictor from σ_s0 (this step) to σ_t (the next). */
  private predict(index: number, x: Float32Array, order: number): Float32Array {
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const h = f32(t.lambda - s0.lambda);
    const m0 = this.modelOutputs.at(0);
    const { rks, d1s } = this.differences((k) => index - k, s0.lambda, h, order, m0);
    const c = this.coefficients(h, rks, order);
    let rhos: number[] = [];
    if (d1s.length > 0)
      rhos =
        order === 2
          ? [0.5]
          : solveF32(
              c.r.slice(0, -1).map((row) => row.slice(0, -1)),
              c.b.slice(0, -1),
            );
    return this.combine(t, s0, c, x, m0, d1s, rhos, null, 0);
  }

  /** UniC: corrects the sample the predictor produced at the previous step (σ_s0 → σ_t, t = this step). */
  private correct(index: number, modelT: Float32Array, lastSample: Float32Array, thisSample: Float32Array, order: number): Float32Array {
    const t = alphaSigma(this.sigmas[index]);
    const s0 = alphaSigma(this.sigmas[index - 1]);
    const h = f32(t.lambda - s0.lambda);
    const m0 = this.modelOutputs.at(0);
    const { rks, d1s } = this.differences((k) => index - (k + 1), s0.lambda, h, order, m0);
    const c = this.coefficients(h, rks, order);
    const rhos = order === 1 ? [0.5] : solveF32(c.r, c.b);
    const corrected = this.buffer('corrected', thisSample.length);
    return this.combine(t, s0, c, lastSample, m0, d1s, rhos.slice(0, -1), modelT, rhos[rhos.length - 1], corrected);
  }

  /**
   * x_t = (σ_t/σ_s0)·x − α_t·φ1·m0 − α_t·B(h)·(Σρ_k·D1_k [+ ρ_last·(m_t − m0)]) for x0 prediction,
   * with α and σ swapped in the leading terms for ε prediction.
   */
  private combine(
    t: AlphaSigma,
    s0: AlphaSigma,
    c: UniCoefficients,
    x: Float32Array,
    m0: Float32Array,
    d1s: Float32Array[],
    rhos: number[],
    modelT: Float32Array | null,
    rhoT: number,
    out = this.outputBuffer(x.length),
  ): Float32Array {
    const predictX0 = this.cfg.predict_x0;
    const scale = predictX0 ? t.alpha : t.sigma;
    const coeffs = [predictX0 ? f32(t.sigma / s0.sigma) : f32(t.alpha / s0.alpha), -f32(scale * c.hPhi1)];
    const vectors = [x, m0];
    if (d1s.length > 0 || modelT) {
      // The correction term Σρ_k·D1_k (+ ρ_t·(m_t − m0)), scaled by α_t·B(h) below.
      const res = this.buffer('res', x.length);
      if (d1s.length > 0) linearCombination(res, rhos, d1s);
      else res.fill(0);
      if (modelT) for (let i = 0; i < res.length; i++) res[i] = res[i] + f32(rhoT * f32(modelT[i] - m0[i]));
      coeffs.push(-f32(scale * c.bH));
      vectors.push(res);
    }
    return linearCombination(out, coeffs, vectors);
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = alphaSigma(this.sigmas[this.addNoiseIndex(timestep)]);
    return noisedVp(a.alpha, a.sigma, original, noise);
  }
}
