/**
 * diffusers' `from_config` in one function: every key the scheduler class accepts takes the
 * config's value when present, else the class's own default; keys it does not accept are ignored.
 */
import { SchedulerError } from './errors.js';
import type { SchedulerConfig } from './types.js';

/** A scheduler class's constructor defaults, exactly as its diffusers `__init__` signature. */
export type ConfigDefaults = Record<string, unknown>;

export function resolveConfig<T extends ConfigDefaults>(className: string, defaults: T, config: SchedulerConfig): T {
  const out: ConfigDefaults = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const value = config[key];
    // A null (JSON's None) means "the default" for every key whose default is not None itself.
    if (value === undefined || value === null) continue;
    out[key] = checkedValue(className, key, defaults[key], value);
  }
  return out as T;
}

function checkedValue(className: string, key: string, fallback: unknown, value: unknown): unknown {
  if (fallback === null) return value; // keys whose default is None take any value (trained_betas, sigma_min, ...)
  switch (typeof fallback) {
    case 'number': {
      // Python writes ±inf as -Infinity / Infinity, which some exporters quote.
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw badType(className, key, 'a number', value);
      return n;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw badType(className, key, 'true or false', value);
      return value;
    case 'string':
      if (typeof value !== 'string') throw badType(className, key, 'a string', value);
      return value;
    default:
      if (Array.isArray(fallback) && !Array.isArray(value)) throw badType(className, key, 'an array', value);
      return value;
  }
}

function badType(className: string, key: string, expected: string, value: unknown): SchedulerError {
  return new SchedulerError(`${className}: config ${key} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** Throws unless `value` is one of `allowed`; names the class and the field. */
export function oneOf<A extends string>(className: string, field: string, value: string, allowed: readonly A[]): A {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new SchedulerError(`${className}: ${field} "${value}" is not supported (one of: ${allowed.join(', ')})`);
  }
  return value as A;
}

/** Keys whose default is None take any JSON value; this checks one that must be a number when set. */
export function optionalNumber(className: string, key: string, value: unknown): number | null {
  if (value === null || typeof value === 'number') return value;
  throw badType(className, key, 'a number or null', value);
}

/** Throws for options diffusers has but this port does not implement, so they never pass silently. */
export function rejectEnabled(className: string, cfg: ConfigDefaults, keys: readonly string[]): void {
  for (const key of keys) {
    if (cfg[key] === true) throw new SchedulerError(`${className}: config ${key}=true is not supported`);
  }
}
