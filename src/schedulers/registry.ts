/**
 * The contract's scheduler names → scheduler classes, built from a diffusers scheduler_config.json
 * the way `from_config` does (class defaults for missing keys, unknown keys ignored), then refined
 * by the request options.
 */
import { resolveConfig, type ConfigDefaults } from './config.js';
import { DDIM_INVERSE_DEFAULTS, DDIMInverseScheduler } from './ddim-inverse.js';
import { DDIM_DEFAULTS, DDIMScheduler } from './ddim.js';
import { DDPM_DEFAULTS, DDPMScheduler } from './ddpm.js';
import { DEIS_DEFAULTS, DEISMultistepScheduler } from './deis.js';
import { DPM_ALGORITHM_TYPES, DPM_MULTISTEP_DEFAULTS, DPMSolverMultistepScheduler } from './dpm-multistep.js';
import { DPM_SINGLESTEP_DEFAULTS, DPMSolverSinglestepScheduler } from './dpm-singlestep.js';
import { SchedulerError } from './errors.js';
import { EULER_ANCESTRAL_DEFAULTS, EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EULER_DEFAULTS, EulerDiscreteScheduler } from './euler.js';
import { HEUN_DEFAULTS, HeunDiscreteScheduler } from './heun.js';
import { IPNDM_DEFAULTS, IPNDM_REASON, IPNDMScheduler } from './ipndm.js';
import { KARRAS_VE_DEFAULTS, KARRAS_VE_REASON, KarrasVeScheduler } from './karras-ve.js';
import { KDPM2_ANCESTRAL_DEFAULTS, KDPM2AncestralDiscreteScheduler } from './kdpm2-ancestral.js';
import { KDPM2_DEFAULTS, KDPM2DiscreteScheduler } from './kdpm2.js';
import { LCM_DEFAULTS, LCMScheduler } from './lcm.js';
import { LMS_DEFAULTS, LMSDiscreteScheduler } from './lms.js';
import { PNDM_DEFAULTS, PNDMScheduler } from './pndm.js';
import { SCORE_SDE_VE_DEFAULTS, SCORE_SDE_VE_REASON, ScoreSdeVeScheduler } from './score-sde-ve.js';
import type { Scheduler, SchedulerConfig, SchedulerOptions } from './types.js';
import { UNIPC_DEFAULTS, UniPCMultistepScheduler } from './unipc.js';

export { SchedulerError } from './errors.js';

interface Entry {
  create: (config: SchedulerConfig) => Scheduler;
  /** The class's constructor defaults (its `from_config` signature). */
  defaults: ConfigDefaults;
  /** Why the scheduler cannot serve a generation request (absent when it can). */
  unusableReason?: string;
  /** Accepted `algorithm_type` request values (DPMSolverMultistep only). */
  algorithmTypes?: readonly string[];
}

const DDIM_INVERSE_REASON = 'DDIMInverseScheduler runs DDIM backwards, from an image towards noise (for inversion-based editing); it cannot denoise';

/** In the contract's order. */
const REGISTRY: Record<string, Entry> = {
  DDPMScheduler: { create: (c) => new DDPMScheduler(c), defaults: DDPM_DEFAULTS },
  DDIMScheduler: { create: (c) => new DDIMScheduler(c), defaults: DDIM_DEFAULTS },
  PNDMScheduler: { create: (c) => new PNDMScheduler(c), defaults: PNDM_DEFAULTS },
  LMSDiscreteScheduler: { create: (c) => new LMSDiscreteScheduler(c), defaults: LMS_DEFAULTS },
  EulerDiscreteScheduler: { create: (c) => new EulerDiscreteScheduler(c), defaults: EULER_DEFAULTS },
  EulerAncestralDiscreteScheduler: { create: (c) => new EulerAncestralDiscreteScheduler(c), defaults: EULER_ANCESTRAL_DEFAULTS },
  DPMSolverMultistepScheduler: {
    create: (c) => new DPMSolverMultistepScheduler(c),
    defaults: DPM_MULTISTEP_DEFAULTS,
    algorithmTypes: DPM_ALGORITHM_TYPES,
  },
  HeunDiscreteScheduler: { create: (c) => new HeunDiscreteScheduler(c), defaults: HEUN_DEFAULTS },
  KDPM2DiscreteScheduler: { create: (c) => new KDPM2DiscreteScheduler(c), defaults: KDPM2_DEFAULTS },
  DPMSolverSinglestepScheduler: { create: (c) => new DPMSolverSinglestepScheduler(c), defaults: DPM_SINGLESTEP_DEFAULTS },
  KDPM2AncestralDiscreteScheduler: { create: (c) => new KDPM2AncestralDiscreteScheduler(c), defaults: KDPM2_ANCESTRAL_DEFAULTS },
  UniPCMultistepScheduler: { create: (c) => new UniPCMultistepScheduler(c), defaults: UNIPC_DEFAULTS },
  DDIMInverseScheduler: { create: (c) => new DDIMInverseScheduler(c), defaults: DDIM_INVERSE_DEFAULTS, unusableReason: DDIM_INVERSE_REASON },
  DEISMultistepScheduler: { create: (c) => new DEISMultistepScheduler(c), defaults: DEIS_DEFAULTS },
  IPNDMScheduler: { create: (c) => new IPNDMScheduler(c), defaults: IPNDM_DEFAULTS, unusableReason: IPNDM_REASON },
  KarrasVeScheduler: { create: (c) => new KarrasVeScheduler(c), defaults: KARRAS_VE_DEFAULTS, unusableReason: KARRAS_VE_REASON },
  ScoreSdeVeScheduler: { create: (c) => new ScoreSdeVeScheduler(c), defaults: SCORE_SDE_VE_DEFAULTS, unusableReason: SCORE_SDE_VE_REASON },
  LCMScheduler: { create: (c) => new LCMScheduler(c), defaults: LCM_DEFAULTS },
};

export const SCHEDULER_NAMES: readonly string[] = Object.freeze(Object.keys(REGISTRY));

export interface SchedulerInfo {
  name: string;
  usableForGeneration: boolean;
  reason?: string;
  supportsKarrasSigmas: boolean;
  algorithmTypes?: string[];
}

function entryFor(name: string): Entry {
  const entry = Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
  if (!entry) throw new SchedulerError(`unknown scheduler "${name}"; one of: ${SCHEDULER_NAMES.join(', ')}`);
  return entry;
}

const accepts = (entry: Entry, key: string) => Object.hasOwn(entry.defaults, key);

/** What the `schedulers_list` endpoint reports about a scheduler. */
export function schedulerInfo(name: string): SchedulerInfo {
  const entry = entryFor(name);
  const info: SchedulerInfo = { name, usableForGeneration: !entry.unusableReason, supportsKarrasSigmas: accepts(entry, 'use_karras_sigmas') };
  if (entry.unusableReason) info.reason = entry.unusableReason;
  if (entry.algorithmTypes) info.algorithmTypes = [...entry.algorithmTypes];
  return info;
}

/** The contract's spelling "dpmsolver+++" names the SDE variant. */
export function normaliseAlgorithmType(value: string): string {
  return value === 'dpmsolver+++' ? 'sde-dpmsolver++' : value;
}

/**
 * The model's config with the request options applied, each only where the class has that key
 * (`use_karras_sigmas` on a scheduler without Karras sigmas is ignored: `usesKarrasSigmas` says so).
 */
export function configWithOptions(name: string, config: SchedulerConfig, options: SchedulerOptions = {}): SchedulerConfig {
  const entry = entryFor(name);
  const out: SchedulerConfig = { ...config };
  if (options.useKarrasSigmas != null && accepts(entry, 'use_karras_sigmas')) out.use_karras_sigmas = options.useKarrasSigmas;
  if (options.timestepSpacing != null && accepts(entry, 'timestep_spacing')) out.timestep_spacing = options.timestepSpacing;
  if (options.algorithmType != null && entry.algorithmTypes) {
    const algorithm = normaliseAlgorithmType(options.algorithmType);
    if (!entry.algorithmTypes.includes(algorithm)) {
      throw new SchedulerError(
        `algorithm_type "${options.algorithmType}" is not supported by ${name} (one of: ${entry.algorithmTypes.join(', ')}; "dpmsolver+++" means sde-dpmsolver++)`,
      );
    }
    out.algorithm_type = algorithm;
  }
  return out;
}

/** The full configuration a scheduler runs with: every key its class accepts, from the config or the default. */
export function effectiveConfig(name: string, config: SchedulerConfig, options: SchedulerOptions = {}): SchedulerConfig {
  return resolveConfig(name, entryFor(name).defaults, configWithOptions(name, config, options));
}

export function createScheduler(name: string, config: SchedulerConfig, options: SchedulerOptions = {}): Scheduler {
  return entryFor(name).create(configWithOptions(name, config, options));
}
