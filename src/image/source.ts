import { ApiError } from '../util/errors.js';
import type { ImageLimits } from '../config.js';
import { decodeToRgb, ImageDecodeError } from './codec.js';
import type { RawImage } from './types.js';

const DATA_URI = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.+-]+)*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Resolves a contract image field (an http(s) URL, a data: URI, or raw base64 when the request says
 * `base64: "yes"`) to decoded RGB pixels. Every failure is a 400 that names the field.
 */
export async function loadImageField(
  field: string,
  value: string,
  options: { allowRawBase64: boolean; limits: ImageLimits },
): Promise<RawImage> {
  const bytes = await readImageBytes(field, value.trim(), options);
  try {
    return await decodeToRgb(bytes, options.limits.maxPixels);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new ApiError(400, `${field}: ${err.message}`);
    throw err;
  }
}

async function readImageBytes(
  field: string,
  value: string,
  { allowRawBase64, limits }: { allowRawBase64: boolean; limits: ImageLimits },
): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(value)) return fetchImage(field, value, limits);
  const dataUri = DATA_URI.exec(value);
  if (dataUri) return decodeBase64(field, value.slice(dataUri[0].length), limits);
  if (allowRawBase64) return decodeBase64(field, value, limits);
  throw new ApiError(
    400,
    `${field}: expected an http(s) URL or a data: URI (send "base64": "yes" to pass raw base64), got "${value.slice(0, 40)}${value.length > 40 ? '…' : ''}"`,
  );
}

function decodeBase64(field: string, text: string, limits: ImageLimits): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw new ApiError(400, `${field}: not valid base64 image data`);
  }
  if (Math.floor((compact.length * 3) / 4) > limits.maxBytes) {
    throw new ApiError(400, `${field}: image data is larger than the limit of ${limits.maxBytes} bytes`);
  }
  return Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
}

async function fetchImage(field: string, url: string, limits: ImageLimits): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(limits.fetchTimeoutMs), redirect: 'follow' });
  } catch (err) {
    const e = err as Error;
    const reason = e.name === 'TimeoutError' ? `timed out after ${limits.fetchTimeoutMs} ms` : causeOf(e);
    throw new ApiError(400, `${field}: could not fetch ${url}: ${reason}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ApiError(400, `${field}: fetching ${url} failed with HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limits.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ApiError(400, `${field}: ${url} is ${declared} bytes, over the limit of ${limits.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > limits.maxBytes) {
        throw new ApiError(400, `${field}: ${url} is over the limit of ${limits.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, `${field}: reading ${url} failed: ${causeOf(err as Error)}`);
  }
  return Buffer.concat(chunks, total);
}

function causeOf(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}
