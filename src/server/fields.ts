import { z } from 'zod';

/**
 * Field parsers for the hosted contract's loose JSON: numbers may arrive as strings ("512"),
 * flags as "yes"/"no", and null or "" means "use the default". Each error names the field and the
 * limit, because the client sees the message as is.
 */

const loose = (name: string, expected: string) =>
  z.union([z.number(), z.string(), z.boolean(), z.null()], { error: `${name}: must be ${expected}` }).optional();

const isAbsent = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

function fail(ctx: z.RefinementCtx, message: string) {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

export function intField(name: string, min: number, max: number, fallback: number, extra?: { multipleOf?: number }) {
  const rule = `an integer from ${min} to ${max}${extra?.multipleOf ? ` and a multiple of ${extra.multipleOf}` : ''}`;
  return loose(name, rule).transform((v, ctx) => {
    if (isAbsent(v)) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
    if (!Number.isInteger(n) || n < min || n > max || (extra?.multipleOf && n % extra.multipleOf !== 0)) {
      return fail(ctx, `${name}: must be ${rule}, got ${JSON.stringify(v)}`);
    }
    return n;
  });
}

export function numberField(name: string, min: number, max: number, fallback: number) {
  return loose(name, `a number from ${min} to ${max}`).transform((v, ctx) => {
    if (isAbsent(v)) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      return fail(ctx, `${name}: must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  });
}

/** A number, or a comma-separated list of numbers (one per ControlNet). */
export function numberListField(name: string, min: number, max: number) {
  return loose(name, `a number from ${min} to ${max}, or a comma-separated list of such numbers`).transform((v, ctx): number[] | null => {
    if (isAbsent(v)) return null;
    const parts = typeof v === 'number' ? [v] : typeof v === 'string' ? v.split(',').map((s) => Number(s.trim())) : [NaN];
    if (parts.some((n) => !Number.isFinite(n) || n < min || n > max)) {
      return fail(ctx, `${name}: must be a number from ${min} to ${max}, or a comma-separated list of such numbers, got ${JSON.stringify(v)}`);
    }
    return parts;
  });
}

export function yesNoField(name: string, fallback: boolean) {
  return loose(name, '"yes" or "no"').transform((v, ctx) => {
    if (isAbsent(v)) return fallback;
    if (v === true || v === false) return v;
    const s = String(v).trim().toLowerCase();
    if (s === 'yes' || s === 'true' || s === '1') return true;
    if (s === 'no' || s === 'false' || s === '0') return false;
    return fail(ctx, `${name}: must be "yes" or "no", got ${JSON.stringify(v)}`);
  });
}

/** A string; null/absent gives `fallback`. Numbers are accepted and stringified (ids are often numeric). */
export function textField(name: string, fallback: string | null, maxLength = 10_000) {
  return z
    .union([z.string(), z.number(), z.null()], { error: `${name}: must be a string` })
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === null) return fallback;
      const s = String(v);
      if (s.length > maxLength) return fail(ctx, `${name}: must be at most ${maxLength} characters, got ${s.length}`);
      return s;
    });
}

/** Seeds: null → random; otherwise a non-negative integer that fits torch's 64-bit seed. */
export function seedField(name: string) {
  return loose(name, 'null or an integer from 0 to 18446744073709551615').transform((v, ctx): bigint | null => {
    if (isAbsent(v)) return null;
    const s = typeof v === 'number' ? (Number.isSafeInteger(v) ? String(v) : 'x') : String(v).trim();
    if (!/^\d{1,20}$/.test(s) || BigInt(s) > 0xffff_ffff_ffff_ffffn) {
      return fail(ctx, `${name}: must be null or an integer from 0 to 18446744073709551615, got ${JSON.stringify(v)}`);
    }
    return BigInt(s);
  });
}

export function imageListField(name: string, maxItems: number) {
  return z
    .union([z.array(z.string()), z.null()], { error: `${name}: must be an array of image URLs or base64 strings` })
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === null) return null;
      if (v.length > maxItems) return fail(ctx, `${name}: at most ${maxItems} images, got ${v.length}`);
      return v;
    });
}

/** `upscale`: "yes"/true (2×), "no"/false/1 (none), or a factor 2 or 4 ("4", 4, "4x"); the factor or null. */
export function upscaleField(name: string) {
  const rule = '"yes", "no", 2 or 4';
  return loose(name, rule).transform((v, ctx): number | null => {
    if (isAbsent(v) || v === false) return null;
    if (v === true) return 2;
    const s = String(v).trim().toLowerCase().replace(/x$/, '');
    if (['no', 'false', 'none', '0', '1'].includes(s)) return null;
    if (s === 'yes' || s === 'true') return 2;
    if (s === '2' || s === '4') return Number(s);
    return fail(ctx, `${name}: must be ${rule}, got ${JSON.stringify(v)}`);
  });
}
