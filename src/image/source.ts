import { ClientError } from '../domain/client-error.js';
import { decodeToRgb, ImageDecodeError } from './codec.js';
import type { OutboundPolicy } from '../net/address-policy.js';
import { guardedFetch, OutboundError } from '../net/guarded-fetch.js';
import { redactUrl } from '../net/redact-url.js';
import type { ImageLimits, RawImage } from './types.js';

const DATA_URI = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.+-]+)*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_REDIRECTS = 3;

export interface ImageFieldOptions {
  allowRawBase64: boolean;
  limits: ImageLimits;
  /** Where URLs may point (config.outbound). */
  policy: OutboundPolicy;
}

/**
 * Resolves a contract image field (an http(s) URL, a data: URI, or raw base64 when the request says
 * `base64: "yes"`) to decoded RGB pixels. Every failure is a 400 that names the field.
 */
export async function loadImageField(field: string, value: string, options: ImageFieldOptions): Promise<RawImage> {
  const trimmed = value.trim();
  const bytes = await readImageBytes(field, trimmed, options);
  try {
    return await decodeToRgb(bytes, options.limits.maxPixels);
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    // What a fetched URL held is not described to the caller (it could tell what answers where).
    if (isUrl(trimmed)) throw new ClientError(400, fetchFailedMessage(field, options.limits), { field, url: redactUrl(trimmed), reason: err.message });
    throw new ClientError(400, `${field}: ${err.message}`);
  }
}

const isUrl = (value: string) => /^https?:\/\//i.test(value);

async function readImageBytes(field: string, value: string, { allowRawBase64, limits, policy }: ImageFieldOptions): Promise<Uint8Array> {
  if (isUrl(value)) return fetchImage(field, value, limits, policy);
  const dataUri = DATA_URI.exec(value);
  if (dataUri) return decodeBase64(field, value.slice(dataUri[0].length), limits);
  if (allowRawBase64) return decodeBase64(field, value, limits);
  throw new ClientError(
    400,
    `${field}: expected an http(s) URL or a data: URI (send "base64": "yes" to pass raw base64), got "${value.slice(0, 40)}${value.length > 40 ? '…' : ''}"`,
  );
}

function decodeBase64(field: string, text: string, limits: ImageLimits): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw new ClientError(400, `${field}: not valid base64 image data`);
  }
  if (Math.floor((compact.length * 3) / 4) > limits.maxBytes) {
    throw new ClientError(400, `${field}: image data is larger than the limit of ${limits.maxBytes} bytes`);
  }
  return Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
}

/** The one answer for an image URL that was refused or could not be fetched or decoded: no detail for the caller. */
export function fetchFailedMessage(field: string, limits: ImageLimits): string {
  return `${field}: could not fetch the image (a public http(s) URL must answer within ${limits.fetchTimeoutMs} ms with an image of at most ${limits.maxBytes} bytes and ${limits.maxPixels} pixels; or send it inline as a data: URI)`;
}

async function fetchImage(field: string, url: string, limits: ImageLimits, policy: OutboundPolicy): Promise<Uint8Array> {
  const failed = (reason: string) => new ClientError(400, fetchFailedMessage(field, limits), { field, url: redactUrl(url), reason });
  let response: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    response = await guardedFetch(url, {
      method: 'GET',
      headers: { 'user-agent': 'controlnet-server', accept: 'image/*' },
      policy,
      timeoutMs: limits.fetchTimeoutMs,
      maxBytes: limits.maxBytes,
      maxRedirects: MAX_REDIRECTS,
    });
  } catch (err) {
    throw failed(err instanceof OutboundError ? err.message : String(err));
  }
  if (response.status < 200 || response.status >= 300) throw failed(`HTTP ${response.status}`);
  return response.body;
}
