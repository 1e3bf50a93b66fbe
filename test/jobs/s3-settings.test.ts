import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { bucketFromAwsEndpoint, checkS3Settings, describeS3Settings } from '../../src/jobs/s3-settings.js';

const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

describe('S3 output store settings', () => {
  it('OUTPUT_STORE defaults to local; s3 reads S3_* with path-style for custom endpoints', () => {
    expect(load({})).toMatchObject({ outputStore: 'local', s3: null });
    const config = load({
      OUTPUT_STORE: 's3',
      S3_BUCKET: 'cn-out',
      S3_PREFIX: '/prod/cn',
      S3_ENDPOINT: 'http://minio:9000/',
      S3_PUBLIC_URL: 'https://cdn.example/cn/',
      S3_PRESIGN_S: '900',
    });
    expect(config.s3).toEqual({
      bucket: 'cn-out',
      prefix: 'prod/cn/',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      publicUrl: 'https://cdn.example/cn',
      presignSeconds: 900,
      credentials: null,
    });
    // AWS S3 itself: virtual-hosted addressing, the region from AWS_REGION unless S3_REGION is set.
    expect(load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', AWS_REGION: 'eu-west-1' }).s3).toMatchObject({
      endpoint: null,
      forcePathStyle: false,
      region: 'eu-west-1',
      prefix: '',
      presignSeconds: 3600,
    });
    expect(
      load({
        OUTPUT_STORE: 's3',
        S3_BUCKET: 'b1x',
        S3_REGION: 'auto',
        AWS_REGION: 'eu-west-1',
        S3_ENDPOINT: 'https://acc.r2.cloudflarestorage.com',
        S3_FORCE_PATH_STYLE: 'false',
      }).s3,
    ).toMatchObject({ region: 'auto', forcePathStyle: false });
  });

  it('refuses unusable settings, naming the variable', () => {
    expect(() => load({ OUTPUT_STORE: 'gcs' })).toThrow(/OUTPUT_STORE must be local or s3/);
    expect(() => load({ OUTPUT_STORE: 's3' })).toThrow('config: S3_BUCKET: required');
    expect(() => load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', S3_ENDPOINT: 'http://key:secret@minio:9000' })).toThrow(
      /S3_ENDPOINT: must not carry credentials/,
    );
    expect(() => load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', S3_PUBLIC_URL: 'cdn.example' })).toThrow(/S3_PUBLIC_URL: must be an http\(s\) URL/);
    expect(() => load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', S3_PRESIGN_S: '604801' })).toThrow(/S3_PRESIGN_S must be an integer in \[1, 604800\]/);
    expect(() => load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', S3_PREFIX: 'a/../b' })).toThrow(/S3_PREFIX: /);
    expect(() => load({ OUTPUT_STORE: 's3', S3_BUCKET: 'b1x', S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/S3_FORCE_PATH_STYLE must be true or false/);
  });

  it("reads the bucket from a virtual-hosted AWS endpoint_url (the hosted API's form)", () => {
    expect(bucketFromAwsEndpoint('https://stable-diffusion-api.s3.amazonaws.com')).toBe('stable-diffusion-api');
    expect(bucketFromAwsEndpoint('https://my.bucket.s3.us-west-2.amazonaws.com/')).toBe('my.bucket');
    expect(bucketFromAwsEndpoint('https://b1x.s3-eu-west-1.amazonaws.com')).toBe('b1x');
    expect(bucketFromAwsEndpoint('https://s3.amazonaws.com')).toBeNull();
    expect(bucketFromAwsEndpoint('https://storage.googleapis.com')).toBeNull();
    expect(bucketFromAwsEndpoint('not a url')).toBeNull();
  });

  it('describes the settings without the credentials', () => {
    const settings = checkS3Settings({ bucket: 'b1x', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' } });
    const shown = JSON.stringify(describeS3Settings(settings));
    expect(shown).not.toMatch(/AKIAEXAMPLE|very-secret/);
    expect(describeS3Settings(settings).credentials).toBe('set by update_s3');
    expect(() => checkS3Settings({ bucket: 'b1x', credentials: { accessKeyId: 'x', secretAccessKey: '' } })).toThrow(/go together/);
  });
});
