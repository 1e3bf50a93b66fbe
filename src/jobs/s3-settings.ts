/**
 * Settings of the S3-compatible object store for outputs, uploads and (Redis mode) job inputs: from
 * the environment at start (OUTPUT_STORE=s3, S3_*) or from the `update_s3` endpoint at run time. Both
 * go through checkS3Settings, which names the offending setting so each caller can word it its way.
 */
export interface S3Settings {
  bucket: string;
  /** Key prefix: "" or ending in "/". */
  prefix: string;
  region: string;
  /** null: AWS S3 itself (the region's endpoint). */
  endpoint: string | null;
  /** Path-style URLs (`endpoint/bucket/key`): MinIO, Ceph and s3rver need them. */
  forcePathStyle: boolean;
  /** Base URL that serves the objects under `prefix` publicly; null: presigned GET URLs. */
  publicUrl: string | null;
  /** Lifetime of presigned URLs (temp outputs: at most until they expire). */
  presignSeconds: number;
  /** Set only through update_s3; null: the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, roles). */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
}

export type S3SettingName = 'bucket' | 'prefix' | 'region' | 'endpoint' | 'publicUrl' | 'presignSeconds' | 'credentials';

/** A setting that cannot be used; `setting` says which, the message what is wrong with it. */
export class S3SettingError extends Error {
  constructor(
    readonly setting: S3SettingName,
    message: string,
  ) {
    super(message);
    this.name = 'S3SettingError';
  }
}

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface RawS3Settings {
  bucket?: string | null;
  prefix?: string | null;
  region?: string | null;
  endpoint?: string | null;
  forcePathStyle?: boolean | null;
  publicUrl?: string | null;
  presignSeconds?: number | null;
  credentials?: { accessKeyId: string; secretAccessKey: string } | null;
}

const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;
const PREFIX = /^[A-Za-z0-9._\-/]*$/;
const REGION = /^[A-Za-z0-9-]{1,64}$/;

/** Validates and normalises settings (prefix ends in "/", URLs without a trailing "/"). */
export function checkS3Settings(raw: RawS3Settings): S3Settings {
  const bucket = (raw.bucket ?? '').trim();
  if (!bucket) throw new S3SettingError('bucket', 'required: the bucket that receives the outputs');
  if (!BUCKET.test(bucket)) throw new S3SettingError('bucket', `not a bucket name: ${JSON.stringify(bucket)}`);
  let prefix = (raw.prefix ?? '').trim().replace(/^\/+/, '');
  if (!PREFIX.test(prefix) || prefix.split('/').includes('..')) {
    throw new S3SettingError('prefix', 'letters, digits, ".", "_", "-" and "/" only');
  }
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  const region = (raw.region ?? '').trim() || 'us-east-1';
  if (!REGION.test(region)) throw new S3SettingError('region', `not a region name: ${JSON.stringify(region)}`);
  const endpoint = raw.endpoint ? httpUrl('endpoint', raw.endpoint) : null;
  const publicUrl = raw.publicUrl ? httpUrl('publicUrl', raw.publicUrl) : null;
  const presignSeconds = raw.presignSeconds ?? 3600;
  if (!Number.isInteger(presignSeconds) || presignSeconds < 1 || presignSeconds > MAX_PRESIGN_SECONDS) {
    throw new S3SettingError('presignSeconds', `an integer number of seconds in [1, ${MAX_PRESIGN_SECONDS}]`);
  }
  const credentials = raw.credentials ?? null;
  if (credentials && (!credentials.accessKeyId || !credentials.secretAccessKey)) {
    throw new S3SettingError('credentials', 'the access key id and the secret access key go together');
  }
  return {
    bucket,
    prefix,
    region,
    endpoint,
    // A custom endpoint is usually MinIO, Ceph or similar, which want path-style addressing.
    forcePathStyle: raw.forcePathStyle ?? endpoint !== null,
    publicUrl,
    presignSeconds,
    credentials,
  };
}

function httpUrl(setting: S3SettingName, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new S3SettingError(setting, 'must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new S3SettingError(setting, 'must be an http(s) URL');
  if (url.username || url.password)
    throw new S3SettingError(setting, 'must not carry credentials (user:password@); the SDK reads them from its credential chain');
  if (url.search || url.hash) throw new S3SettingError(setting, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/**
 * The hosted API's `endpoint_url` is often the bucket's virtual-hosted address
 * (`https://<bucket>.s3.amazonaws.com`, `https://<bucket>.s3.<region>.amazonaws.com`): the bucket it names,
 * or null when the URL is not of that form.
 */
export function bucketFromAwsEndpoint(endpoint: string): string | null {
  try {
    const match = /^(.+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com$/.exec(new URL(endpoint).hostname);
    return match?.[1] ?? null;
  } catch {
    return null;
  }
}

/** What system_details and update_s3 show: everything but the credentials themselves. */
export function describeS3Settings(s: S3Settings) {
  return {
    bucket: s.bucket,
    prefix: s.prefix,
    region: s.region,
    endpoint: s.endpoint,
    force_path_style: s.forcePathStyle,
    public_url: s.publicUrl,
    presign_seconds: s.publicUrl ? null : s.presignSeconds,
    credentials: s.credentials ? 'set by update_s3' : 'default AWS credential chain',
  };
}
