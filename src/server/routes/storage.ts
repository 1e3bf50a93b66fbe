import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { checkAdminKey } from '../auth.js';
import { describeIssues } from '../contract.js';
import { intField, textField, yesNoField } from '../fields.js';
import { badRequest } from '../../domain/client-error.js';
import { S3BlobStore, S3StoreError } from '../../jobs/s3-blob-store.js';
import {
  bucketFromAwsEndpoint,
  checkS3Settings,
  describeS3Settings,
  MAX_PRESIGN_SECONDS,
  S3SettingError,
  type RawS3Settings,
  type S3SettingName,
  type S3Settings,
} from '../../jobs/s3-settings.js';

/**
 * The hosted API's `update_s3` body, plus three fields of this server: `bucket` (the hosted API takes
 * it from a virtual-hosted `endpoint_url`), `force_path_style` and `presign_seconds`.
 */
export const updateS3Schema = z
  .object({
    key: z.unknown(),
    deploy_type: textField('deploy_type', null, 40),
    public_url: textField('public_url', null, 2048),
    region_name: textField('region_name', null, 64),
    endpoint_url: textField('endpoint_url', null, 2048),
    aws_access_key_id: textField('aws_access_key_id', null, 256),
    aws_secret_access_key: textField('aws_secret_access_key', null, 256),
    image_directory: textField('image_directory', null, 512),
    bucket: textField('bucket', null, 255),
    force_path_style: yesNoField('force_path_style', false),
    presign_seconds: intField('presign_seconds', 1, MAX_PRESIGN_SECONDS, 0),
  })
  .loose();

/** The request field each setting comes from, for error messages. */
const FIELD: Record<S3SettingName, string> = {
  bucket: 'bucket',
  prefix: 'image_directory',
  region: 'region_name',
  endpoint: 'endpoint_url',
  publicUrl: 'public_url',
  presignSeconds: 'presign_seconds',
  credentials: 'aws_access_key_id',
};

/** What system_details shows about the output store (never the credentials). */
export function outputStoreDetails(ctx: AppContext) {
  const settings = ctx.objects?.settings;
  if (settings) return { type: 's3', ...describeS3Settings(settings) };
  return { type: ctx.config.queue === 'local' ? 'local' : 'redis' };
}

/** `POST /api/v1/enterprise/update_s3`: new S3 settings, checked by writing an object with them before they apply. */
export const storageRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/api/v1/enterprise/update_s3', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    // update_s3 changes where every later output goes: an administrator's call.
    checkAdminKey(ctx.config, body.key, 'update_s3');
    const parsed = updateS3Schema.safeParse(body);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const req = parsed.data;
    if (!ctx.objects || ctx.config.queue !== 'local') {
      throw badRequest(
        'update_s3: with QUEUE=redis every node must write where the others read; set OUTPUT_STORE=s3 and the S3_* variables on every node instead',
      );
    }
    if (req.deploy_type !== null && req.deploy_type !== '' && req.deploy_type !== 'text_to_image') {
      throw badRequest(`deploy_type: this server has one deploy type, "text_to_image" (ControlNet); got ${JSON.stringify(req.deploy_type)}`);
    }
    const hasKeyId = !!req.aws_access_key_id;
    if (hasKeyId !== !!req.aws_secret_access_key) {
      throw badRequest(
        `${hasKeyId ? 'aws_secret_access_key' : 'aws_access_key_id'}: required with ${hasKeyId ? 'aws_access_key_id' : 'aws_secret_access_key'}`,
      );
    }

    // Fields left out (or null) keep their current value.
    const current = ctx.objects.settings;
    const vhostBucket = req.endpoint_url ? bucketFromAwsEndpoint(req.endpoint_url) : null;
    const endpointChanged = req.endpoint_url !== null;
    const raw: RawS3Settings = {
      bucket: req.bucket || vhostBucket || current?.bucket,
      prefix: req.image_directory ?? current?.prefix,
      region: req.region_name || current?.region,
      // A bucket's virtual-hosted AWS address means AWS S3 itself: the SDK builds the address from the region.
      endpoint: endpointChanged ? (vhostBucket ? null : req.endpoint_url) : current?.endpoint,
      forcePathStyle: body.force_path_style != null ? req.force_path_style : endpointChanged ? null : current?.forcePathStyle,
      publicUrl: req.public_url !== null ? req.public_url : current?.publicUrl,
      presignSeconds: req.presign_seconds || current?.presignSeconds,
      credentials: hasKeyId ? { accessKeyId: req.aws_access_key_id!, secretAccessKey: req.aws_secret_access_key! } : current?.credentials,
    };
    let settings: S3Settings;
    try {
      settings = checkS3Settings(raw);
    } catch (err) {
      if (!(err instanceof S3SettingError)) throw err;
      const hint = err.setting === 'bucket' ? ' (or an endpoint_url of the form https://<bucket>.s3.<region>.amazonaws.com)' : '';
      throw badRequest(`${FIELD[err.setting]}: ${err.message}${hint}`);
    }
    try {
      await S3BlobStore.check(settings);
    } catch (err) {
      if (!(err instanceof S3StoreError)) throw err;
      request.log.warn({ err }, 'update_s3: the new settings failed their write check');
      throw badRequest(`update_s3: ${err.message} with these settings; nothing was changed`);
    }
    ctx.objects.configure(settings);
    const details = describeS3Settings(settings);
    request.log.info({ output_store: details }, 'output store settings changed by update_s3');
    return {
      status: 'success',
      message: `S3 settings updated: new outputs go to bucket "${settings.bucket}"${settings.prefix ? ` under "${settings.prefix}"` : ''}`,
      output_store: { type: 's3', ...details },
    };
  });
};
