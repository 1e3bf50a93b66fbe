/**
 * LMSDiscreteScheduler: linear multistep (Adams–Bashforth in σ) over up to four past derivatives,
 * each weight the exact integral of a Lagrange basis polynomial between consecutive sigmas.
 */
import { alphasCumprodOf, betasFromConfig } from './betas.js';
import { oneOf, rejectEnabled, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { divideInto, linearCombination, noisedBySigma } from './kernels.js';
import { inputScaleDivisor, kDenoise, kInitNoiseSigma, kSchedule, type KPrediction } from './k-schedule.js';
import { History } from './history.js';
import { SchedulerBase } from './scheduler-base.js';
import { trainingSigmas } from './sigmas.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

/** diffusers' `step(order=4)` default: the pipelines never pass another. */
const LMS_ORDER = 4;

export const LMS_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
};

/**
 * The 21-point Gauss–Kronrod rule (QUADPACK's dqk21), with which scipy's `quad` integrates the
 * coefficients: the integrand is a float32 polynomial, so the same nodes give the same rounding.
 */
const XGK = [
  0.995657163025808080735527280689003, 0.973906528517171720077964012084452, 0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
  0.780817726586416897063717578345042, 0.679409568299024406234327365114874, 0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
  0.294392862701460198131126603103866, 0.14887433898163121088482600112972, 0,
];
const WGK = [
  0.011694638867371874278064396062192, 0.03255816230796472747881897245939, 0.05475589657435199603138130024458, 0.07503967481091995276704314091619,
  0.093125454583697605535065465083366, 0.109387158802297641899210590325805, 0.12349197626206585107720806379946, 0.134709217311473325928054001771707,
  0.142775938577060080797094273138717, 0.147739104901338491374841515972068, 0.149445554002916905664936468389821,
];

export class LMSDiscreteScheduler extends SchedulerBase {
  readonly name = 'LMSDiscreteScheduler';
  private readonly cfg: typeof LMS_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly prediction: KPrediction;
  override sigmas: Float64Array;
  /** The latest derivatives (at most LMS_ORDER). */
  private readonly derivatives = new History(LMS_ORDER);
  private readonly coefficients = new Float64Array(LMS_ORDER);

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, LMS_DEFAULTS, config));
    rejectEnabled(this.name, cfg, ['use_exponential_sigmas', 'use_beta_sigmas']);
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction', 'sample']);
    this.alphasCumprod = alphasCumprodOf(betasFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']));
    this.usesKarrasSigmas = cfg.use_karras_sigmas;
    this.sigmas = Float64Array.of(...trainingSigmas(this.alphasCumprod).reverse(), 0);
    this.setTimesteps(cfg.num_train_timesteps);
    this.numInferenceSteps = null;
  }

  get initNoiseSigma(): number {
    return kInitNoiseSigma(this.sigmas, this.cfg.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const { timesteps, sigmas } = kSchedule({
      alphasCumprod: this.alphasCumprod,
      spacing: this.cfg.timestep_spacing,
      steps: numInferenceSteps,
      stepsOffset: this.cfg.steps_offset,
      karras: this.cfg.use_karras_sigmas,
    });
    this.sigmas = Float64Array.of(...sigmas, 0).map(f32);
    this.timesteps = timesteps.map(f32);
    this.numInferenceSteps = numInferenceSteps;
    this.derivatives.clear();
    this.resetStepIndex();
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentStepIndex(timestep)];
    return divideInto(this.buffer('scaled', sample.length), sample, inputScaleDivisor(sigma));
  }

  /** ∫ from σ_t to σ_{t+1} of the Lagrange basis polynomial of `current` among the last `order` sigmas. */
  private lmsCoefficient(order: number, t: number, current: number): number {
    const s = this.sigmas;
    // diffusers evaluates the polynomial on float32 tensors.
    const basis = (tau: number) => {
      let prod = 1;
      for (let k = 0; k < order; k++) {
        if (k === current) continue;
        prod = f32(prod * f32(f32(f32(tau) - s[t - k]) / f32(s[t - current] - s[t - k])));
      }
      return prod;
    };
    const a = s[t];
    const b = s[t + 1];
    const half = 0.5 * (b - a);
    const mid = 0.5 * (a + b);
    // dqk21's summation order: the centre, the Gauss nodes, then the Kronrod-only nodes.
    let resk = WGK[10] * basis(mid);
    for (let j = 1; j <= 5; j++) {
      const x = half * XGK[2 * j - 1];
      resk += WGK[2 * j - 1] * (basis(mid - x) + basis(mid + x));
    }
    for (let j = 1; j <= 5; j++) {
      const x = half * XGK[2 * j - 2];
      resk += WGK[2 * j - 2] * (basis(mid - x) + basis(mid + x));
    }
    return resk * half;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const index = this.currentStepIndex(timestep);
    if (index + 1 >= this.sigmas.length) throw new SchedulerError(`${this.name}: no step left after index ${index}`);
    const n = sample.length;
    const sigma = this.sigmas[index];
    const denoised = kDenoise(this.prediction, sigma, modelOutput, sample, this.buffer('denoised', n));
    const derivative = this.derivatives.push(n);
    for (let i = 0; i < n; i++) derivative[i] = f32(sample[i] - denoised[i]) / sigma;

    const order = Math.min(index + 1, LMS_ORDER);
    for (let k = 0; k < order; k++) this.coefficients[k] = f32(this.lmsCoefficient(order, index, k));
    // zip(coefficients, newest-first derivatives): after a begin index, fewer derivatives than the order.
    const terms = Math.min(order, this.derivatives.length);
    const newestFirst = Array.from({ length: terms }, (_, k) => this.derivatives.at(k));
    const out = linearCombination(this.outputBuffer(n), Array.from(this.coefficients.subarray(0, terms)), newestFirst);
    for (let i = 0; i < n; i++) out[i] = sample[i] + out[i];
    this.stepIndex = index + 1;
    return { prevSample: out, denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return noisedBySigma(original, noise, this.sigmas[this.addNoiseIndex(timestep)]);
  }
}
