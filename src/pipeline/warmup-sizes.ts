/** The resolutions warmed up at load time (config WARMUP_SIZES). */
import type { WarmupSize } from '../domain/index.js';

export type { WarmupSize };

/**
 * "512x512,768x768" -> sizes; "none" -> none; unset or "" -> the default: 512x512 when the preferred provider is a
 * GPU one (cuDNN's first run of a shape is slow), none on CPU (nothing to gain, start-up time to lose).
 */
export function parseWarmupSizes(text: string | undefined, preferredProvider: string): WarmupSize[] {
  const trimmed = (text ?? '').trim().toLowerCase();
  if (trimmed === '') return preferredProvider === 'cpu' ? [] : [{ width: 512, height: 512 }];
  if (trimmed === 'none') return [];
  return trimmed.split(',').map((part) => {
    const match = /^(\d+)x(\d+)$/.exec(part.trim());
    const [width, height] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
    if (!(width > 0 && height > 0 && width % 8 === 0 && height % 8 === 0)) {
      throw new Error(`config: WARMUP_SIZES entry "${part.trim()}" is not WIDTHxHEIGHT with sides that are positive multiples of 8`);
    }
    return { width, height };
  });
}
