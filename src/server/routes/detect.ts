import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { checkKey } from '../auth.js';
import { describeIssues } from '../contract.js';
import { intField, textField, yesNoField, seedField } from '../fields.js';
import { ClientError, badRequest } from '../../domain/client-error.js';
import { loadImageField } from '../../image/source.js';
import { scrubPaths } from '../../util/scrub-paths.js';
import { encodePng } from '../../image/codec.js';
import { HINT_TYPES } from '../../preprocessors/registry.js';

/** `POST /api/v1/enterprise/controlnet/detect`: preview the hint a ControlNet would get (auto_hint). */
export const detectRequestSchema = z
  .object({
    key: textField('key', null, 512),
    controlnet_type: textField('controlnet_type', null, 100),
    image: textField('image', null, 40_000_000),
    init_image: textField('init_image', null, 40_000_000),
    mask_image: textField('mask_image', null, 40_000_000),
    width: intField('width', 8, 4096, 0),
    height: intField('height', 8, 4096, 0),
    detect_resolution: intField('detect_resolution', 64, 2048, 512),
    low_threshold: intField('low_threshold', 1, 255, 100),
    high_threshold: intField('high_threshold', 1, 255, 200),
    seed: seedField('seed'),
    base64: yesNoField('base64', false),
  })
  .loose();

export const detectRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/api/v1/enterprise/controlnet/detect', async (request, reply) => {
    const raw = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    checkKey(ctx.config, raw.key);
    const parsed = detectRequestSchema.safeParse(raw);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const req = parsed.data;
    const type = (req.controlnet_type ?? '').trim().toLowerCase();
    if (!HINT_TYPES.includes(type)) throw badRequest(`controlnet_type: required, one of: ${HINT_TYPES.join(', ')}`);
    const field = req.image ? 'image' : 'init_image';
    const source = req.image ?? req.init_image;
    if (!source) throw badRequest('image: required (a URL, a data: URI, or base64 with "base64": "yes")');
    const load = (f: string, v: string) => loadImageField(f, v, { allowRawBase64: req.base64, limits: ctx.config.image, policy: ctx.config.outbound });
    const [image, mask] = await Promise.all([load(field, source), req.mask_image ? load('mask_image', req.mask_image) : null]);
    const result = await ctx.workers.hint({
      type,
      image,
      options: {
        // Default: the input's own size.
        width: req.width || image.width,
        height: req.height || image.height,
        detectResolution: req.detect_resolution,
        lowThreshold: req.low_threshold,
        highThreshold: req.high_threshold,
        seed: req.seed === null ? undefined : Number(req.seed & 0xffffffffn),
        mask: mask ?? undefined,
      },
    });
    if (!result.ok) throw new ClientError(result.clientError ? 400 : 500, result.clientError ? scrubPaths(result.message) : 'hint failed; see the server log');
    const png = await encodePng(result.image);
    if (req.base64)
      return { status: 'success', controlnet_type: type, width: result.image.width, height: result.image.height, output: [png.toString('base64')] };
    return reply.header('content-type', 'image/png').send(png);
  });
};
