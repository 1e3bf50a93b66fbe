import type { OutboundPolicy } from '../net/address-policy.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageLimits } from '../config.js';
import { decodeToRgb, ImageDecodeError } from '../image/codec.js';
import { loadImageField } from '../image/source.js';
import type { RawImage } from '../image/types.js';
import type { ImageLoader } from '../server/generation-spec.js';
import { ClientError } from '../domain/client-error.js';

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const isUrl = (v: string) => /^https?:\/\//i.test(v);
const shorten = (v: string) => (v.length > 80 ? `${v.slice(0, 80)}…` : v);

/**
 * The command line's image fields: everything the server accepts (http(s) URLs, data: URIs, base64),
 * and also local files: a path (relative to `baseDir`) or a file: URL. Only the command line reads
 * local files; the HTTP server never does. An existing file wins; a value that is no file but looks
 * like base64 (or any value with `base64: "yes"`) is read as base64. Failures are 400s naming the field.
 */
export class CliImageInput {
  /** Values that were read as files, so meta can echo them as given instead of "base64". */
  private readonly files = new Set<string>();

  constructor(
    private readonly baseDir: string,
    private readonly limits: ImageLimits,
    /** URLs follow the server's outbound rules (ALLOWED_FETCH_HOSTS, ALLOWED_FETCH_PORTS). */
    private readonly policy: OutboundPolicy,
  ) {}

  loader(allowRawBase64: boolean): ImageLoader {
    return (field, value) => this.load(field, value, allowRawBase64);
  }

  /** meta's echo of an image field: URLs and paths as given, inline data as "base64". */
  describe = (value: string | null): string | null => (value === null ? null : isUrl(value.trim()) || this.files.has(value) ? value.trim() : 'base64');

  private async load(field: string, value: string, allowRawBase64: boolean): Promise<RawImage> {
    const v = value.trim();
    if (isUrl(v) || /^data:/i.test(v)) return loadImageField(field, v, { allowRawBase64, limits: this.limits, policy: this.policy });
    let file: string;
    try {
      file = /^file:/i.test(v) ? fileURLToPath(v) : path.resolve(this.baseDir, v);
    } catch (err) {
      throw new ClientError(400, `${field}: not a usable file: URL (${(err as Error).message})`);
    }
    const stat = await fs.stat(file).catch(() => null);
    if (stat?.isFile()) {
      this.files.add(value);
      return this.readFile(field, v, file, stat.size);
    }
    if (allowRawBase64 || (v.length >= 64 && BASE64.test(v.replace(/\s+/g, '')))) {
      return loadImageField(field, v, { allowRawBase64: true, limits: this.limits, policy: this.policy });
    }
    const why = stat ? 'is not a file' : 'no such file';
    throw new ClientError(400, `${field}: ${why}: "${shorten(v)}" (relative paths are read from ${this.baseDir})`);
  }

  private async readFile(field: string, given: string, file: string, size: number): Promise<RawImage> {
    if (size > this.limits.maxBytes) {
      throw new ClientError(400, `${field}: "${shorten(given)}" is ${size} bytes, over the limit of ${this.limits.maxBytes} bytes`);
    }
    const bytes = await fs.readFile(file);
    try {
      return await decodeToRgb(bytes, this.limits.maxPixels);
    } catch (err) {
      if (err instanceof ImageDecodeError) throw new ClientError(400, `${field}: "${shorten(given)}": ${err.message}`);
      throw err;
    }
  }
}
