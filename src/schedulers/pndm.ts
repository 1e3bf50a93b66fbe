/**
 * PNDMScheduler: pseudo numerical methods (Liu et al. 2022): Runge–Kutta warm-up steps (PRK),
 * then the linear multistep PLMS update over the last four noise estimates. Stable Diffusion's
 * config skips the PRK steps, running PLMS with a repeated second timestep instead.
 */
import { addNoiseWithAlpha, alphaAt, alphasCumprodFromConfig } from './alpha-schedule.js';
import { oneOf, resolveConfig } from './config.js';
import { SchedulerError } from './errors.js';
import { numpyArange, numpyLinspace, roundHalfEven } from './reference-numerics.js';
import { History } from './history.js';
import { adamsBashforth } from './kernels.js';
import { SchedulerBase } from './scheduler-base.js';
import type { SchedulerConfig, StepResult } from './types.js';

// f32() after each operation reproduces torch's float32 arithmetic, so traces match diffusers bit for bit.
const f32 = Math.fround;

export const PNDM_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as number[] | null,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 0,
};

const PNDM_ORDER = 4;

export class PNDMScheduler extends SchedulerBase {
  readonly name = 'PNDMScheduler';
  readonly initNoiseSigma = 1;
  private readonly cfg: typeof PNDM_DEFAULTS;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly prediction: 'epsilon' | 'v_prediction';
  private prkCount = 0;
  private counter = 0;
  /** The last four noise estimates (copies: the caller may reuse its model-output buffer). */
  private readonly ets = new History(PNDM_ORDER);
  private hasCurSample = false;

  constructor(config: SchedulerConfig) {
    super();
    const cfg = (this.cfg = resolveConfig(this.name, PNDM_DEFAULTS, config));
    this.prediction = oneOf(this.name, 'prediction_type', cfg.prediction_type, ['epsilon', 'v_prediction']);
    this.alphasCumprod = alphasCumprodFromConfig(cfg, this.name, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
    this.finalAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    this.validateSetTimesteps(numInferenceSteps);
    const T = this.cfg.num_train_timesteps;
    const n = numInferenceSteps;
    // Ascending spaced timesteps.
    let base: Float64Array;
    switch (this.cfg.timestep_spacing) {
      case 'linspace':
        base = numpyLinspace(0, T - 1, n).map(roundHalfEven);
        break;
      case 'leading': {
        const ratio = Math.floor(T / n);
        base = Float64Array.from({ length: n }, (_, i) => i * ratio + this.cfg.steps_offset);
        break;
      }
      case 'trailing':
        base = numpyArange(T, 0, -(T / n))
          .subarray(0, n)
          .map(roundHalfEven)
          .reverse()
          .map((t) => t - 1);
        break;
      default:
        throw new SchedulerError(`${this.name}: timestep_spacing "${this.cfg.timestep_spacing}" is not supported (one of: linspace, leading, trailing)`);
    }
    let prk: number[] = [];
    let plms: number[];
    if (this.cfg.skip_prk_steps) {
      // The second-to-last timestep twice: PLMS's second call re-evaluates it.
      plms = [...base.subarray(0, n - 1), ...base.subarray(Math.max(n - 2, 0), n - 1), base[n - 1]].reverse();
    } else {
      if (n < PNDM_ORDER) throw new SchedulerError(`${this.name}: PRK warm-up needs at least ${PNDM_ORDER} steps, got ${n}`);
      const half = Math.floor(Math.floor(T / n) / 2);
      // Each of the last four timesteps and its half-step point, pairs repeated: the RK4 evaluations.
      const points = [...base.subarray(n - PNDM_ORDER)].flatMap((t) => [t, t + half]);
      const repeated = points.slice(0, -1).flatMap((t) => [t, t]);
      prk = repeated.slice(1, -1).reverse();
      plms = [...base.subarray(0, n - 3)].reverse();
    }
    this.prkCount = prk.length;
    this.timesteps = Float64Array.from([...prk, ...plms]);
    this.numInferenceSteps = n;
    this.ets.clear();
    this.counter = 0;
    this.hasCurSample = false;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    this.validateStep(modelOutput, sample);
    const out =
      this.counter < this.prkCount && !this.cfg.skip_prk_steps ? this.stepPrk(modelOutput, timestep, sample) : this.stepPlms(modelOutput, timestep, sample);
    this.counter++;
    return { prevSample: out };
  }

  /** A Runge–Kutta evaluation: accumulates 1/6, 1/3, 1/3, 1/6 of four noise estimates. */
  private stepPrk(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const n = sample.length;
    const half = Math.floor(Math.floor(this.cfg.num_train_timesteps / this.numInferenceSteps!) / 2);
    const prevTimestep = timestep - (this.counter % 2 ? 0 : half);
    const from = this.timesteps[Math.floor(this.counter / 4) * 4];
    const acc = this.buffer('prk.acc', n);
    const curSample = this.buffer('curSample', n);
    const phase = this.counter % 4;
    let estimate = modelOutput;
    if (phase === 0) {
      const sixth = f32(1 / 6);
      for (let i = 0; i < n; i++) acc[i] = f32(sixth * modelOutput[i]);
      this.ets.push(modelOutput.length).set(modelOutput);
      curSample.set(sample);
      this.hasCurSample = true;
    } else if (phase === 1 || phase === 2) {
      const third = f32(1 / 3);
      for (let i = 0; i < n; i++) acc[i] = acc[i] + f32(third * modelOutput[i]);
    } else {
      const sixth = f32(1 / 6);
      estimate = this.buffer('prk.estimate', n);
      for (let i = 0; i < n; i++) estimate[i] = acc[i] + f32(sixth * modelOutput[i]);
      acc.fill(0);
    }
    return this.prevSample(this.hasCurSample ? curSample : sample, from, prevTimestep, estimate);
  }

  /** A linear multistep (Adams–Bashforth) update over up to four past noise estimates. */
  private stepPlms(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (!this.cfg.skip_prk_steps && this.ets.length < 3) {
      throw new SchedulerError(`${this.name}: PLMS steps need the PRK warm-up steps first`);
    }
    const n = sample.length;
    const stride = Math.floor(this.cfg.num_train_timesteps / this.numInferenceSteps!);
    let from = timestep;
    let to = timestep - stride;
    if (this.counter !== 1) this.ets.push(modelOutput.length).set(modelOutput);
    else {
      // The repeated timestep: redo the first interval with the averaged estimate.
      to = timestep;
      from = timestep + stride;
    }
    const curSample = this.buffer('curSample', n);
    const k = this.ets.length;
    const estimate = this.buffer('plms.estimate', n);
    let x = sample;
    if (k === 1 && this.counter === 0) {
      estimate.set(modelOutput);
      curSample.set(sample);
      this.hasCurSample = true;
    } else if (k === 1 && this.counter === 1) {
      const last = this.ets.at(0);
      for (let i = 0; i < n; i++) estimate[i] = f32(modelOutput[i] + last[i]) / 2;
      x = curSample;
      this.hasCurSample = false;
    } else {
      adamsBashforth(
        estimate,
        Array.from({ length: k }, (_, back) => this.ets.at(back)),
      );
    }
    return this.prevSample(x, from, to, estimate);
  }

  /** PNDM's transfer from `timestep` to `prevTimestep` (Liu et al. eq. 11). */
  private prevSample(sample: Float32Array, timestep: number, prevTimestep: number, estimate: Float32Array): Float32Array {
    const alphaProd = alphaAt(this.alphasCumprod, timestep, this.name);
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const betaProd = f32(1 - alphaProd);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const sqrtAlpha = f32(Math.sqrt(alphaProd));
    const sqrtBeta = f32(Math.sqrt(betaProd));
    const sampleCoeff = f32(Math.sqrt(f32(alphaProdPrev / alphaProd)));
    const denom = f32(f32(alphaProd * f32(Math.sqrt(betaProdPrev))) + f32(Math.sqrt(f32(f32(alphaProd * betaProd) * alphaProdPrev))));
    const diff = f32(alphaProdPrev - alphaProd);
    const epsilonPrediction = this.prediction === 'epsilon';
    const out = this.outputBuffer(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      // v-prediction converts to ε first.
      const eps = epsilonPrediction ? estimate[i] : f32(f32(sqrtAlpha * estimate[i]) + f32(sqrtBeta * x));
      out[i] = f32(sampleCoeff * x) - f32(f32(diff * eps) / denom);
    }
    return out;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseWithAlpha(alphaAt(this.alphasCumprod, timestep, this.name), original, noise);
  }
}
