/**
 * DEISMultistepScheduler: diffusion exponential integrator sampling (Zhang & Chen 2023), the
 * log-ρ multistep variant: polynomial extrapolation of ε in log ρ, ρ = σ_t / α_t.
 */
import { alphasCumprodFromConfig } from './alpha-schedule.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { alphaSigma, convertToX0, multistepSchedule, sigmaMinOf, type AlphaSigma } from './multistep-schedule.js';
import { History } from './history.js';
import { noisedVp } from './kernels.js';
import { SchedulerBase } from './scheduler-base.js';
import { spacedTimestepsDroppingZero } from './timesteps.js';
import type { SchedulerConfig, StepResult } from './types.js';
import { numpyLogf } from '../math/numpy-float32.js';
import { torchExpf } from '../math/sleef-float32.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;
/** `np.log` of a float32 0-d tensor (numpy's SIMD log, as in diffusers' `ind_fn`). */
const log32 = numpyLogf;

export const DEIS_DEFAULTS = {
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
  algorithm_type: 'deis',
  solver_type: 'logrho',
  lower_order_final: true,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

/** ∫ of the degree-1 Lagrange basis in log ρ (DEIS's `ind_fn`, second order). */
function integral2(t: number, b: number, c: number): number {
  const [lt, lb, lc] = [log32(t), log32(b), log32(c)];
  return f32(f32(t * f32(f32(lt - lc) - 1)) / f32(lb - lc));
}

/** ∫ of the degree-2 Lagrange basis in log ρ (DEIS's `ind_fn`, third order). */
function integral3(t: number, b: number, c: number, d: number): number {
  const [lt, lb, lc, ld] = [log32(t), log32(b), log32(c), log32(d)];
  let inner = f32(lc * f32(f32(ld - lt) + 1));
  inner = f32(inner - f32(ld * lt));
  inner = f32(inner + ld);
  inner = f32(inner + f32(lt * lt));
  inner = f32(inner - f32(2 * lt));
  inner = f32(inner + 2);
  return f32(f32(t * inner) / f32(f32(lb - lc) * f32(lb - ld)));
}

const rho = (a: AlphaSigma) => f32(a.sigma / a.alpha);

export class DEISMultistepScheduler extends SchedulerBase {
  readonly name = 'DEISMultistepScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof DEIS_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  override sigmas: Float64Array = new Float64Array(0);
  /** ε estimates of the last `solver_order` steps. */
  private readonly modelOutputs: History;
  private lowerOrderNums = 0;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, DEIS_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['thresholding', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_flow_sigmas', 'use_dynamic_shifting']);
    oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'sample', 'v_prediction']);
    // diffusers maps the DPM-Solver names onto DEIS's only variant.
    oneOf(this.name, 'algorithm_type', cfg.algorithm_type, ['deis', 'dpmsolver', 'dpmsolver++']);
    oneOf(this.name, 'solver_type', cfg.solver_type, ['logrho', 'midpoint', 'heun', 'bh1', 'bh2']);
    if (!Number.isInteger(cfg.solver_order) || cfg.solver_order < 1 || cfg.solver_order > 3) {
      throw new SchedulerError(`${this.name}: solver_order must be 1, 2 or 3, got ${cfg.solver_order}`);
    }
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.modelOutputs = new History(cfg.solver_order);
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
    // DEIS never steps to σ = 0: it ends at the last Karras sigma, or at σ_min.
    const finalSigma = this.cfg.use_karras_sigmas ? sigmas[sigmas.length - 1] : sigmaMinOf(this.alphasCumprod);
    this.sigmas = Float64Array.of(...sigmas, finalSigma).map(f32);
    this.timesteps = timesteps.map(Math.trunc);
    this.numInferenceSteps = this.timesteps.length;
    this.modelOutputs.clear();
    this.lowerOrderNums = 0;
    this.resetStepIndex();
  }

  protected override indexForMissingTimestep(): number {
    return this.timesteps.length - 1;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const steps = this.timesteps.length;
    const order = this.cfg.solver_order;
    const lowerFinal = index === steps - 1 && this.cfg.lower_order_final && steps < 15;
    const lowerSecond = index === steps - 2 && this.cfg.lower_order_final && steps < 15;
    const n = sample.length;

    // DEIS works on ε: x0 first (as the other solvers), then back to ε = (x - α·x0) / σ.
    const a = alphaSigma(this.sigmas[index]);
    const eps = convertToX0(this.cfg.prediction_type, a, modelOutput, sample, this.modelOutputs.push(n));
    for (let i = 0; i < n; i++) eps[i] = f32(sample[i] - f32(a.alpha * eps[i])) / a.sigma;

    const out = this.outputBuffer(n);
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = a;
    const m0 = this.modelOutputs.at(0);
    if (order === 1 || this.lowerOrderNums < 1 || lowerFinal) {
      const h = f32(t.lambda - s0.lambda);
      const cx = f32(t.alpha / s0.alpha);
      const cm = f32(t.sigma * f32(torchExpf(h) - 1));
      for (let i = 0; i < n; i++) out[i] = f32(cx * sample[i]) - f32(cm * m0[i]);
    } else if (order === 2 || this.lowerOrderNums < 2 || lowerSecond) {
      const s1 = alphaSigma(this.sigmas[index - 1]);
      const [rt, r0, r1] = [rho(t), rho(s0), rho(s1)];
      const c1 = f32(integral2(rt, r0, r1) - integral2(r0, r0, r1));
      const c2 = f32(integral2(rt, r1, r0) - integral2(r0, r1, r0));
      const m1 = this.modelOutputs.at(1);
      for (let i = 0; i < n; i++) {
        out[i] = t.alpha * f32(f32(f32(sample[i] / s0.alpha) + f32(c1 * m0[i])) + f32(c2 * m1[i]));
      }
    } else {
      const s1 = alphaSigma(this.sigmas[index - 1]);
      const s2 = alphaSigma(this.sigmas[index - 2]);
      const [rt, r0, r1, r2] = [rho(t), rho(s0), rho(s1), rho(s2)];
      const c1 = f32(integral3(rt, r0, r1, r2) - integral3(r0, r0, r1, r2));
      const c2 = f32(integral3(rt, r1, r2, r0) - integral3(r0, r1, r2, r0));
      const c3 = f32(integral3(rt, r2, r0, r1) - integral3(r0, r2, r0, r1));
      const [m1, m2] = [this.modelOutputs.at(1), this.modelOutputs.at(2)];
      for (let i = 0; i < n; i++) {
        const inner = f32(f32(f32(f32(sample[i] / s0.alpha) + f32(c1 * m0[i])) + f32(c2 * m1[i])) + f32(c3 * m2[i]));
        out[i] = t.alpha * inner;
      }
    }
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return { prevSample: out };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = alphaSigma(this.sigmas[this.addNoiseIndex(timestep)]);
    return noisedVp(a.alpha, a.sigma, original, noise);
  }
}
