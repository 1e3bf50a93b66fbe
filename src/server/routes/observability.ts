import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { controlNetRequestSchema } from '../contract.js';
import { managementSchemas } from './management.js';
import { updateS3Schema } from './storage.js';
import { nsfwCheckSchema } from './nsfw-check.js';

/** Prometheus metrics and the OpenAPI document (generated from the same zod schemas that validate). */
export const observabilityRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  const document = openApiDocument();
  app.get('/openapi.json', async () => document);
};

export function openApiDocument() {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' });
  const keyOnly = z.object({ key: z.string() });
  const op = (summary: string, body: z.ZodType) => ({
    post: {
      summary,
      requestBody: { required: true, content: { 'application/json': { schema: schema(body) } } },
      responses: {
        200: { description: 'success (or "processing" for generations that take longer)' },
        400: { description: '{"status":"error","message":...} naming the field and the limit' },
        401: { description: 'missing or invalid key' },
        403: { description: 'a client key on an endpoint that changes the server (ADMIN_API_KEYS)' },
        404: { description: 'no such job (also: a job of another key)' },
        429: { description: 'queue full, or the per-key rate limit; see Retry-After' },
      },
    },
  });
  const withKey = (s: z.ZodObject) => s.extend({ key: z.string() });
  return {
    openapi: '3.0.3',
    info: { title: 'controlnet-server', version: '0.1.0', description: 'The Stable Diffusion API enterprise ControlNet contract, self-hosted.' },
    paths: {
      '/api/v1/enterprise/controlnet': op('Generate images with one or more ControlNets', controlNetRequestSchema),
      '/api/v1/enterprise/fetch/{id}': op('Result of a queued generation', keyOnly),
      '/api/v1/enterprise/fetch': op('Result of a queued generation', keyOnly.extend({ request_id: z.union([z.string(), z.number()]) })),
      '/api/v1/enterprise/nsfw_image_check': op("The safety checker's verdict on one image", nsfwCheckSchema),
      '/api/v1/enterprise/system_details': op('Server, queue and model status', keyOnly),
      '/api/v1/enterprise/schedulers_list': op('Scheduler names and whether each can generate', keyOnly),
      '/api/v1/enterprise/get_all_models': op('Installed models, ControlNets and VAEs', keyOnly),
      '/api/v1/enterprise/load_model': op('Install a model from a folder on this server', withKey(managementSchemas.loadModel)),
      '/api/v1/enterprise/verify_model': op('Whether a model id is installed', withKey(managementSchemas.modelId)),
      '/api/v1/enterprise/delete_model': op('Remove a model', withKey(managementSchemas.modelId)),
      '/api/v1/enterprise/load_vae': op('Install a VAE from a folder on this server', withKey(managementSchemas.loadVae)),
      '/api/v1/enterprise/clear_cache': op('Close all model sessions (they reload on next use)', keyOnly),
      '/api/v1/enterprise/clear_queue': op(
        'Fail every waiting job (admin key), or one (request_id: its owner too)',
        keyOnly.extend({ request_id: z.union([z.string(), z.number()]).optional() }),
      ),
      '/api/v1/enterprise/restart_server': op('Re-initialise the inference workers', keyOnly),
      '/api/v1/enterprise/upload_image': op('Store a base64 image and get its URL', withKey(managementSchemas.uploadImage)),
      '/api/v1/enterprise/update_s3': op('Send outputs to an S3-compatible bucket from now on (one box)', withKey(updateS3Schema)),
    },
  };
}
