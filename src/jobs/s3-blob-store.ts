import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ApiError } from '../util/errors.js';
import type { S3Settings } from './s3-settings.js';
import type { BlobStore } from './store.js';

/** Where objects were written; job records keep it, so outputs stay reachable after update_s3 changes the bucket. */
export interface S3Location {
  bucket: string;
  prefix: string;
  publicUrl: string | null;
}

/**
 * The object store could not do what was asked. The message is neutral (no endpoint address, no
 * credentials): it ends up in job records and HTTP answers. The SDK's own error is the `cause`, for the log.
 */
export class S3StoreError extends ApiError {
  constructor(what: string, err: unknown) {
    super(503, `the S3 output store could not ${what} (${reasonOf(err)})`);
    this.name = 'S3StoreError';
    this.cause = err;
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof S3ServiceException) return `${err.name}, HTTP ${err.$metadata?.httpStatusCode ?? '?'}`;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `${code}: the store did not answer`;
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'the store did not answer in time';
  if (name === 'CredentialsProviderError') return 'no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an AWS profile or role';
  return 'the store did not answer';
}

const CONTENT_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

/**
 * Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Ceph), under the settings'
 * prefix, through @aws-sdk/client-s3. The settings may change at run time (update_s3); each call uses the
 * ones current when it starts. Unconfigured (OUTPUT_STORE=local until update_s3), `enabled` is false.
 */
export class S3BlobStore implements BlobStore {
  private current: { settings: S3Settings; client: S3Client } | null = null;

  constructor(settings: S3Settings | null) {
    if (settings) this.configure(settings);
  }

  get enabled(): boolean {
    return this.current !== null;
  }

  get settings(): S3Settings | null {
    return this.current?.settings ?? null;
  }

  /** Where new objects go now. */
  get location(): S3Location {
    const { bucket, prefix, publicUrl } = this.active().settings;
    return { bucket, prefix, publicUrl };
  }

  /** Uses these settings from now on (objects already written stay where they are). */
  configure(settings: S3Settings): void {
    const previous = this.current;
    this.current = { settings, client: createClient(settings) };
    previous?.client.destroy();
  }

  /**
   * Writes and deletes a small object with these settings, without adopting them: update_s3 refuses
   * settings the server could not store outputs with.
   */
  static async check(settings: S3Settings): Promise<void> {
    const probe = new S3BlobStore(settings);
    try {
      await probe.put('.write-check', Buffer.from('controlnet-server write check\n'));
      await probe.delete(['.write-check']).catch(() => undefined);
    } finally {
      probe.close();
    }
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.putAt(this.location, key, data);
  }

  get(key: string): Promise<Buffer | null> {
    return this.getAt(this.location, key);
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.deleteAt(this.location, keys);
  }

  async putAt(at: S3Location, key: string, data: Uint8Array): Promise<void> {
    const ext = /\.([a-z]+)$/.exec(key)?.[1] ?? '';
    try {
      await this.active().client.send(
        new PutObjectCommand({ Bucket: at.bucket, Key: at.prefix + key, Body: data, ContentType: CONTENT_TYPES[ext] ?? 'application/octet-stream' }),
      );
    } catch (err) {
      throw new S3StoreError('store an object', err);
    }
  }

  async getAt(at: S3Location, key: string): Promise<Buffer | null> {
    try {
      const reply = await this.active().client.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix + key }));
      return Buffer.from(await reply.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404)) return null;
      throw new S3StoreError('read an object', err);
    }
  }

  /** One DeleteObject per key: DeleteObjects needs a Content-MD5/checksum that not every S3-compatible store accepts. */
  async deleteAt(at: S3Location, keys: readonly string[]): Promise<void> {
    const { client } = this.active();
    try {
      await Promise.all(keys.map((key) => client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: at.prefix + key }))));
    } catch (err) {
      throw new S3StoreError('delete an object', err);
    }
  }

  /** The object's public URL, or a presigned GET URL valid for `seconds`. */
  async url(at: S3Location, key: string, seconds: number): Promise<string> {
    if (at.publicUrl) return `${at.publicUrl}/${key}`;
    const command = new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix + key });
    return getSignedUrl(this.active().client, command, { expiresIn: Math.max(1, Math.floor(seconds)) });
  }

  close(): void {
    this.current?.client.destroy();
  }

  private active() {
    if (!this.current) throw new ApiError(503, 'the S3 output store is not configured (OUTPUT_STORE=s3 with S3_BUCKET, or update_s3)');
    return this.current;
  }
}

function createClient(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle,
    // Without explicit credentials the SDK's default chain applies (environment, profiles, instance roles).
    ...(s.credentials ? { credentials: s.credentials } : {}),
    // The SDK sends CRC32 checksums on every upload and asks for them on downloads by default (since 3.729);
    // several S3-compatible stores (older MinIO and Ceph, R2, s3rver) refuse or ignore them. Only where required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });
}
