import { z } from 'zod';
import type * as ort from 'onnxruntime-node';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { checkKey } from '../auth.js';
import { describeIssues } from '../contract.js';
import { textField, yesNoField } from '../fields.js';
import { badRequest } from '../../domain/client-error.js';
import { loadImageField } from '../../image/source.js';
import { openSession } from '../../runtime/session.js';
import { checkImages, safetyCheckerSignature, type SafetyCheckerSignature } from '../../safety/checker.js';
import { planSafetyChecker, resolveModelId } from '../plan.js';

/**
 * `POST /api/v1/enterprise/nsfw_image_check` (the hosted API's `nsfw_image_check`): `{key, init_image}` (also
 * `image`; a URL through the guarded fetch, a data: URI, or base64 with `base64: "yes"`) → `{status, has_nsfw_concept:
 * [bool], nsfw_content_detected: [bool], images}` with diffusers' safety checker rule. Optional `model_id` picks
 * that model's own checker (`<model_id>/safety_checker/`), else the shared `safety_checker/`. The checker runs in
 * this process (a small session of its own, opened on first use) rather than on the generation worker.
 */
export const nsfwCheckSchema = z
  .object({
    key: textField('key', null, 512),
    init_image: textField('init_image', null, 40_000_000),
    image: textField('image', null, 40_000_000),
    model_id: textField('model_id', null, 200),
    base64: yesNoField('base64', false),
  })
  .loose();

export const nsfwCheckRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const sessions = new Map<string, Promise<{ session: ort.InferenceSession; signature: SafetyCheckerSignature }>>();
  const open = (modelPath: string) => {
    let s = sessions.get(modelPath);
    if (!s) {
      s = openSession(modelPath, { providers: ctx.config.executionProviders, deviceId: ctx.config.deviceId, threads: ctx.config.threads }).then(
        ({ session }) => ({
          session,
          signature: safetyCheckerSignature(session),
        }),
      );
      sessions.set(modelPath, s);
      s.catch(() => sessions.delete(modelPath));
    }
    return s;
  };
  app.addHook('onClose', async () => {
    const all = [...sessions.values()];
    sessions.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => s.session.release(),
          () => undefined,
        ),
      ),
    );
  });

  app.post('/api/v1/enterprise/nsfw_image_check', async (request) => {
    const raw = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    checkKey(ctx.config, raw.key);
    const parsed = nsfwCheckSchema.safeParse(raw);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const req = parsed.data;
    const field = req.init_image ? 'init_image' : 'image';
    const source = req.init_image ?? req.image;
    if (!source) throw badRequest('init_image: required (a URL, a data: URI, or base64 with "base64": "yes")');
    const catalog = ctx.models.catalog();
    const modelId = req.model_id ? resolveModelId(catalog, req.model_id, null).id : (ctx.defaultModel() ?? '');
    const files = planSafetyChecker(modelId, catalog);
    const image = await loadImageField(field, source, { allowRawBase64: req.base64, limits: ctx.config.image, policy: ctx.config.outbound });
    const { session, signature } = await open(files.modelPath);
    const [verdict] = await checkImages(session, signature, files.conceptsPath, [image]);
    const flagged = [verdict!.nsfw];
    return {
      status: 'success',
      images: /^https?:\/\//i.test(source) ? source : 'base64',
      has_nsfw_concept: flagged,
      nsfw_content_detected: flagged,
      concept_scores: [verdict!.conceptScores],
      special_scores: [verdict!.specialScores],
    };
  });
};
