import type { S3Client } from '@aws-sdk/client-s3';
import { ClientError } from '../domain/client-error.js';
import type { S3Settings } from './s3-settings.js';
import type { BlobStore } from './store.js';
import type { S3Location } from './record.js';

/**
 * The object store could not do what was asked. The message is neutral (no endpoint address, no
 * credentials): it ends up in job records and HTTP answers. The SDK's own error is the `cause`, for the log.
 */
export class S3StoreError extends ClientError {
  constructor(what: string, err: unknown) {
    super(503, `the S3 output store could not ${what} (${reasonOf(err)})`);
    this.name = 'S3StoreError';
    this.cause = err;
  }
}

/** The SDK, loaded on first use: a server without S3 settings never loads it (it takes about half a second). */
let sdkLoading: Promise<[typeof import('@aws-sdk/client-s3'), typeof import('@aws-sdk/s3-request-presigner')]> | null = null;
const sdk = () => (sdkLoading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]));

/** An S3 error answer (NoSuchBucket, AccessDenied…): the SDK marks those with $fault and $metadata. */
const isServiceError = (err: unknown): err is Error & { $metadata?: { httpStatusCode?: number } } => typeof (err as { $fault?: unknown })?.$fault === 'string';

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `${code}: the store did not answer`;
  if (isServiceError(err)) return `${err.name}, HTTP ${err.$metadata?.httpStatusCode ?? '?'}`;
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
  private current: { settings: S3Settings; client: Promise<S3Client> } | null = null;

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
    const client = createClient(settings);
    client.catch(() => undefined); // awaited (and its failure reported) by each call
    this.current = { settings, client };
    void previous?.client.then(
      (c) => c.destroy(),
      () => undefined,
    );
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
      const [{ PutObjectCommand }, client] = await Promise.all([sdk().then((m) => m[0]), this.active().client]);
      await client.send(
        new PutObjectCommand({ Bucket: at.bucket, Key: at.prefix + key, Body: data, ContentType: CONTENT_TYPES[ext] ?? 'application/octet-stream' }),
      );
    } catch (err) {
      throw new S3StoreError('store an object', err);
    }
  }

  async getAt(at: S3Location, key: string): Promise<Buffer | null> {
    try {
      const [{ GetObjectCommand }, client] = await Promise.all([sdk().then((m) => m[0]), this.active().client]);
      const reply = await client.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix + key }));
      return Buffer.from(await reply.Body!.transformToByteArray());
    } catch (err) {
      if (isServiceError(err) && (err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404)) return null;
      throw new S3StoreError('read an object', err);
    }
  }

  /** One DeleteObject per key: DeleteObjects needs a Content-MD5/checksum that not every S3-compatible store accepts. */
  async deleteAt(at: S3Location, keys: readonly string[]): Promise<void> {
    try {
      const [{ DeleteObjectCommand }, client] = await Promise.all([sdk().then((m) => m[0]), this.active().client]);
      await Promise.all(keys.map((key) => client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: at.prefix + key }))));
    } catch (err) {
      throw new S3StoreError('delete an object', err);
    }
  }

  /** The object's public URL, or a presigned GET URL valid for `seconds`. */
  async url(at: S3Location, key: string, seconds: number): Promise<string> {
    if (at.publicUrl) return `${at.publicUrl}/${key}`;
    const [[{ GetObjectCommand }, { getSignedUrl }], client] = await Promise.all([sdk(), this.active().client]);
    const command = new GetObjectCommand({ Bucket: at.bucket, Key: at.prefix + key });
    return getSignedUrl(client, command, { expiresIn: Math.max(1, Math.floor(seconds)) });
  }

  close(): void {
    void this.current?.client.then(
      (c) => c.destroy(),
      () => undefined,
    );
  }

  private active() {
    if (!this.current) throw new ClientError(503, 'the S3 output store is not configured (OUTPUT_STORE=s3 with S3_BUCKET, or update_s3)');
    return this.current;
  }
}

async function createClient(s: S3Settings): Promise<S3Client> {
  const [{ S3Client }] = await sdk();
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
