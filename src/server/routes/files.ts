import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../../util/errors.js';

const SAFE_NAME = /^[A-Za-z0-9_-]+\.png$/;

/** Serves generated images at stable URLs: /generations/<id>-<n>.png */
export const fileRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get<{ Params: { file: string } }>('/generations/:file', async (request, reply) => {
    const { file } = request.params;
    if (!SAFE_NAME.test(file)) throw new ApiError(404, `no such file: ${file}`);
    const full = path.join(ctx.config.outputDir, file);
    const stat = await fs.stat(full).catch(() => null);
    if (!stat?.isFile()) throw new ApiError(404, `no such file: ${file}`);
    return reply
      .header('content-type', 'image/png')
      .header('content-length', stat.size)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(createReadStream(full));
  });
};
