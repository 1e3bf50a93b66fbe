import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { uploadStore, type AppContext } from '../context.js';
import { ClientError } from '../../domain/client-error.js';

const OUTPUT = /^(\d{1,20})-\d{1,2}(?:-[0-9a-f]{32})?\.png$/;
const UPLOAD = /^[0-9a-f-]{36}\.(png|jpg|webp)$/;
const TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

async function sendFile(reply: FastifyReply, file: string, type: string): Promise<boolean> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) return false;
  reply
    .header('content-type', type)
    .header('content-length', stat.size)
    .header('cache-control', 'public, max-age=31536000, immutable')
    .send(createReadStream(file));
  return true;
}

/** Generated images at stable URLs (/generations/<id>-<n>.png) and uploaded images (/uploads/<uuid>.<ext>). */
export const fileRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get<{ Params: { file: string } }>('/generations/:file', async (request, reply) => {
    const { file } = request.params;
    const match = OUTPUT.exec(file);
    if (!match) throw new ClientError(404, `no such file: ${file}`);
    // Only outputs of a job on record are served: a file whose record is gone (a database moved aside
    // as damaged, say) is not handed out as if nothing happened.
    const record = await ctx.jobs.get(match[1]);
    if (!record?.result?.outputs.includes(file)) throw new ClientError(404, `no such file: ${file}`);
    if (record.expired) throw new ClientError(410, `${file} expired (temp: "yes" outputs are kept ${ctx.config.jobs.tempTtlMs / 3_600_000} h)`);
    // In S3 (OUTPUT_STORE=s3): this URL (a processing answer's future_links) sends the client to the object.
    if (record.result.s3) return reply.redirect((await ctx.jobs.outputUrls(record))[record.result.outputs.indexOf(file)]!, 302);
    if (await sendFile(reply, path.join(ctx.config.outputDir, file), 'image/png')) return reply;
    // Not on this node's disk: (scale-out) it lives in the shared store.
    const bytes = await ctx.jobs.readOutput(file);
    if (!bytes) throw new ClientError(404, `no such file: ${file}`);
    return reply.header('content-type', 'image/png').header('cache-control', 'public, max-age=31536000, immutable').send(bytes);
  });

  app.get<{ Params: { file: string } }>('/uploads/:file', async (request, reply) => {
    const { file } = request.params;
    const match = UPLOAD.exec(file);
    if (!match) throw new ClientError(404, `no such file: ${file}`);
    if (await sendFile(reply, path.join(ctx.config.dataDir, 'uploads', file), TYPES[match[1]])) return reply;
    // Uploaded through another API node (scale-out): the shared copy.
    const bytes = await uploadStore(ctx)?.get(`uploads/${file}`);
    if (!bytes) throw new ClientError(404, `no such file: ${file}`);
    return reply.header('content-type', TYPES[match[1]]).header('cache-control', 'public, max-age=31536000, immutable').send(bytes);
  });
};
