import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** s3rver's fixed credentials (it checks signatures made with them). */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 with its data in a temporary folder, the given
 * buckets created, and a client to look at what the server under test wrote. `port` reuses an address
 * (a store that comes back after being down).
 */
export async function startS3Server(buckets: string[] = ['outputs'], port = 0) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    port: address.port,
    /** Every key in the bucket, sorted. */
    async keys(bucket: string): Promise<string[]> {
      const reply = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (reply.Contents ?? []).map((o) => o.Key!).sort();
    },
    async object(bucket: string, key: string): Promise<{ bytes: Buffer; contentType: string | undefined }> {
      const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { bytes: Buffer.from(await reply.Body!.transformToByteArray()), contentType: reply.ContentType };
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
