/**
 * The training noise schedule (betas and cumulative alphas) from a diffusers config, computed with
 * torch's float32 rounding so that every derived sigma and coefficient equals diffusers'.
 */
import { SchedulerError } from './errors.js';
import { torchLinspaceF32 } from './reference-numerics.js';

const f32 = Math.fround;

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2' | 'sigmoid' | 'exp';

export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: readonly number[] | null;
}

/** diffusers' `betas_for_alpha_bar`: betas from a continuous alpha-bar curve, capped at `maxBeta`. */
export function betasForAlphaBar(n: number, transform: 'cosine' | 'exp', maxBeta = 0.999): Float64Array {
  const alphaBar = transform === 'cosine' ? (t: number) => Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2) ** 2 : (t: number) => Math.exp(t * -12.0);
  const betas = new Float64Array(n);
  for (let i = 0; i < n; i++) betas[i] = f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta));
  return betas;
}

/** The betas a config describes; `allowed` lists the schedules the scheduler class accepts. */
export function betasFromConfig(cfg: BetaConfig, className: string, allowed: readonly BetaSchedule[]): Float64Array {
  const n = cfg.num_train_timesteps;
  if (cfg.trained_betas != null) {
    if (!Array.isArray(cfg.trained_betas) || cfg.trained_betas.length === 0) {
      throw new SchedulerError(`${className}: trained_betas must be a non-empty array of numbers`);
    }
    return Float64Array.from(cfg.trained_betas, (b) => f32(Number(b)));
  }
  const schedule = cfg.beta_schedule as BetaSchedule;
  if (!allowed.includes(schedule)) {
    throw new SchedulerError(`${className}: beta_schedule "${cfg.beta_schedule}" is not supported (one of: ${allowed.join(', ')})`);
  }
  switch (schedule) {
    case 'linear':
      return torchLinspaceF32(cfg.beta_start, cfg.beta_end, n);
    case 'scaled_linear': {
      const roots = torchLinspaceF32(Math.sqrt(cfg.beta_start), Math.sqrt(cfg.beta_end), n);
      return roots.map((r) => f32(r * r));
    }
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(n, 'cosine');
    case 'exp':
      return betasForAlphaBar(n, 'exp');
    case 'sigmoid': {
      const range = f32(cfg.beta_end - cfg.beta_start);
      const start = f32(cfg.beta_start);
      return torchLinspaceF32(-6, 6, n).map((x) => f32(f32(f32(1 / (1 + Math.exp(-x))) * range) + start));
    }
  }
}

/** `torch.cumprod(1 - betas)`: float32 values, accumulated in double as torch's CPU kernel does. */
export function alphasCumprodOf(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]);
    out[i] = f32(acc);
  }
  return out;
}

/**
 * diffusers' `rescale_zero_terminal_snr` (Lin et al. 2023): rescales the betas so that the last
 * timestep has zero signal-to-noise ratio.
 */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const n = betas.length;
  const sqrtBar = alphasCumprodOf(betas).map((a) => f32(Math.sqrt(a)));
  const first = sqrtBar[0];
  const last = sqrtBar[n - 1];
  const scale = f32(first / f32(first - last));
  const bar = sqrtBar.map((s) => {
    const shifted = f32(f32(s - last) * scale);
    return f32(shifted * shifted);
  });
  const out = new Float64Array(n);
  out[0] = f32(1 - bar[0]);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(bar[i] / bar[i - 1]));
  return out;
}
