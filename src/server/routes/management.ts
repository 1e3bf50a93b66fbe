import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import * as ort from 'onnxruntime-node';
import { uploadStore, type AppContext } from '../context.js';
import { outputStoreDetails } from './storage.js';
import { checkAdminKey, checkKey, mayRead } from '../auth.js';
import { describeIssues } from '../contract.js';
import { textField } from '../fields.js';
import { ClientError, badRequest } from '../../domain/client-error.js';
import { SCHEDULER_NAMES, schedulerInfo } from '../../schedulers/registry.js';
import type { ModelKind } from '../../runtime/model-registry.js';
import { familyOfFiles } from '../../domain/index.js';
import { decodeToRgb, ImageDecodeError } from '../../image/codec.js';
import { embeddingListing } from '../../embeddings/embedding-listing.js';

const required = (name: string, max = 4096) => textField(name, null, max).refine((v) => v !== null && v !== '', { message: `${name}: required` });

/** Request bodies of the management endpoints (the hosted enterprise API's names and fields). */
export const managementSchemas = {
  key: z.object({ key: z.unknown() }).loose(),
  loadModel: z
    .object({
      model_id: required('model_id', 100),
      url: required('url'),
      model_type: textField('model_type', 'huggingface', 40),
      webhook: textField('webhook', null, 2048),
    })
    .loose(),
  modelId: z.object({ model_id: required('model_id', 100), model_type: textField('model_type', null, 40) }).loose(),
  loadVae: z
    .object({
      vae_id: required('vae_id', 100),
      vae_url: required('vae_url'),
      vae_type: textField('vae_type', 'diffusers', 40),
    })
    .loose(),
  uploadImage: z
    .object({
      base64_image: required('base64_image', 60_000_000),
      image_type: textField('image_type', 'png', 10),
    })
    .loose(),
};

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw badRequest(describeIssues(result.error));
  return result.data;
}

/** The hosted API's model_type values, mapped to what this server stores. */
function kindOf(modelType: string | null): ModelKind {
  switch ((modelType ?? '').toLowerCase()) {
    case 'controlnet':
      return 'controlnet';
    case 'vae':
      return 'vae';
    case '':
    case 'huggingface':
    case 'custom_ckpt':
    case 'api_trained':
    case 'onnx':
    case 'model':
      return 'model';
    case 'lora':
      return 'lora';
    case 'embeddings':
    case 'embedding':
    case 'textual_inversion':
      return 'embeddings';
    default:
      throw badRequest(`model_type: unknown value "${modelType}"; one of huggingface, custom_ckpt, onnx, controlnet, vae, lora, embeddings`);
  }
}

const UPLOAD_TYPES: Record<string, string> = { png: 'png', jpg: 'jpg', jpeg: 'jpg', webp: 'webp' };
/** Uploads are inputs for requests soon after: the shared copy (Redis) is kept a week. */
const UPLOAD_TTL_MS = 7 * 24 * 3600 * 1000;

export const managementRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const started = Date.now();
  const authed = (request: FastifyRequest, admin: string | null) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (admin) checkAdminKey(ctx.config, body.key, admin);
    else checkKey(ctx.config, body.key);
    return body;
  };
  /** A client endpoint (any key): listing, uploads. */
  const route = (name: string, handler: (body: Record<string, unknown>, request: FastifyRequest) => Promise<unknown>) =>
    app.post(`/api/v1/enterprise/${name}`, async (request) => handler(authed(request, null), request));
  /** An endpoint that changes the server for everyone: admin keys only (ADMIN_API_KEYS), 403 otherwise. */
  const adminRoute = (name: string, handler: (body: Record<string, unknown>, request: FastifyRequest) => Promise<unknown>) =>
    app.post(`/api/v1/enterprise/${name}`, async (request) => handler(authed(request, name), request));

  route('system_details', async () => {
    const catalog = ctx.models.catalog();
    const queue = await ctx.jobs.queueInfo();
    const loaded = await ctx.workers.loaded();
    const cpus = os.cpus();
    return {
      status: 'ok',
      model_count: catalog.models.size,
      queue_time: Math.round(queue.etaSeconds),
      queue: { waiting: queue.waiting, running: queue.running },
      models: [...catalog.models.keys()],
      controlnets: Object.fromEntries([...catalog.controlnets].map(([id, m]) => [id, [...m.keys()]])),
      vaes: [...catalog.vaes.keys()],
      execution_providers: { requested: ctx.config.executionProviders, device_id: ctx.config.deviceId },
      loaded_sessions: loaded,
      memory_budget: {
        budget_bytes: ctx.config.memoryBudget.bytes,
        source: ctx.config.memoryBudget.source,
        open_bytes: loaded.reduce((sum, s) => sum + (s.bytes ?? 0), 0),
        weight_bytes: loaded.reduce((sum, s) => sum + (s.weights ?? 0), 0),
        activation_bytes: loaded.reduce((sum, s) => sum + (s.activations?.bytes ?? 0), 0),
        counts: 'weights (file sizes) plus activations measured at warm-up (WARMUP_SIZES) where measured; weights only for sessions with activations null',
      },
      start_to_ready_s: ((ms) => (ms === null ? null : Math.round(ms) / 1000))(ctx.startToReadyMs?.() ?? null),
      cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length },
      memory: { total_bytes: os.totalmem(), free_bytes: os.freemem(), rss_bytes: process.memoryUsage().rss },
      versions: { node: process.version, onnxruntime: ort.env.versions.node ?? ort.env.versions.common },
      role: ctx.config.role,
      queue_backend: ctx.config.queue === 'local' ? 'local' : 'redis',
      output_store: outputStoreDetails(ctx),
      uptime_s: Math.round((Date.now() - started) / 1000),
      ...(ctx.storage ? { storage: ctx.storage } : {}),
    };
  });

  const schedulers = async () => ({
    status: 'success',
    schedulers: [...SCHEDULER_NAMES],
    details: SCHEDULER_NAMES.map((name) => {
      const info = schedulerInfo(name);
      return {
        name,
        usable_for_generation: info.usableForGeneration,
        ...(info.reason ? { reason: info.reason } : {}),
        karras_sigmas: info.supportsKarrasSigmas,
        ...(info.algorithmTypes ? { algorithm_types: info.algorithmTypes } : {}),
      };
    }),
  });
  route('schedulers_list', schedulers);
  app.get('/api/v1/enterprise/schedulers_list', schedulers);

  route('get_all_models', async () => {
    const catalog = ctx.models.catalog();
    const entry = async (kind: ModelKind, id: string) => ({
      model_id: id,
      model_type: kind === 'model' ? 'stable-diffusion' : kind,
      ...(kind === 'model' ? { family: familyOfFiles(catalog.models.get(id)!) } : {}),
      load_data: (await ctx.models.loadedAt(kind, id))?.toISOString() ?? null,
    });
    const controlnets = new Set([...catalog.controlnets.values()].flatMap((m) => [...m.keys()]));
    return {
      status: 'success',
      models: await Promise.all([
        ...[...catalog.models.keys()].map((id) => entry('model', id)),
        ...[...controlnets].map((id) => entry('controlnet', id)),
        ...[...catalog.vaes.keys()].map((id) => entry('vae', id)),
        ...[...(catalog.loras ?? new Map())].filter(([, file]) => file !== null).map(([id]) => entry('lora', id)),
        ...[...(catalog.embeddings ?? new Map())]
          .filter((e): e is [string, string] => e[1] !== null)
          .map(async ([id, file]) => ({ ...(await entry('embeddings', id)), ...embeddingListing(id, file) })),
      ]),
      // Extensions: what `upscale` and `safety_checker` can use.
      upscalers: [...(catalog.upscalers?.values() ?? [])].map((u) => ({ name: u.name, scale: u.scale })),
      safety_checker: { shared: Boolean(catalog.safetyCheckers?.shared), models: [...(catalog.safetyCheckers?.own.keys() ?? [])] },
    };
  });

  route('verify_model', async (body) => {
    const { model_id } = parse(managementSchemas.modelId, body);
    const catalog = ctx.models.catalog();
    const id = model_id!;
    const kinds = [
      catalog.models.has(id) || catalog.aliases.has(id) ? 'model' : null,
      [...catalog.controlnets.values()].some((m) => m.has(id)) ? 'controlnet' : null,
      catalog.vaes.has(id) ? 'vae' : null,
      catalog.loras?.get(id) ? 'lora' : null,
      catalog.embeddings?.get(id) ? 'embeddings' : null,
    ].filter(Boolean);
    if (kinds.length === 0) throw new ClientError(404, `model_id: "${id}" is not on this server`);
    return { status: 'success', message: `model_id "${id}" is available`, model_type: kinds.join(',') };
  });

  /** Links a model, then opens it on the workers: a model that cannot run is not left installed. */
  const install = async (kind: ModelKind, id: string, source: string) => {
    const folder = await ctx.models.link(kind, id, source);
    const catalog = ctx.models.catalog();
    const failure =
      kind === 'model'
        ? await ctx.workers.preload(catalog.models.get(id)!, [])
        : kind === 'controlnet'
          ? await ctx.workers.preload(catalog.models.get(ctx.defaultModel() ?? '') ?? [...catalog.models.values()][0], [path.join(folder, 'model.onnx')])
          : null;
    if (failure) {
      await ctx.workers.release(folder);
      await ctx.models.remove(kind, id);
      throw badRequest(`url: the ${kind} could not be loaded: ${failure}`);
    }
    return folder;
  };

  adminRoute('load_model', async (body) => {
    const req = parse(managementSchemas.loadModel, body);
    const kind = kindOf(req.model_type);
    await install(kind, req.model_id!, req.url!);
    return { status: 'success', message: `${kind} "${req.model_id}" loaded`, model_id: req.model_id, model_type: kind };
  });

  adminRoute('load_vae', async (body) => {
    const req = parse(managementSchemas.loadVae, body);
    if (req.vae_type && !['diffusers', 'onnx'].includes(req.vae_type)) {
      throw badRequest(`vae_type: "${req.vae_type}" weights cannot be used directly; export the VAE to ONNX (scripts/export_onnx.py) and use vae_type "onnx"`);
    }
    await install('vae', req.vae_id!, req.vae_url!);
    return { status: 'success', message: `vae "${req.vae_id}" loaded; use it with "vae": "${req.vae_id}"`, vae_id: req.vae_id };
  });

  adminRoute('delete_model', async (body) => {
    const req = parse(managementSchemas.modelId, body);
    const id = req.model_id!;
    const catalog = ctx.models.catalog();
    const kind: ModelKind = req.model_type
      ? kindOf(req.model_type)
      : catalog.models.has(id)
        ? 'model'
        : catalog.vaes.has(id)
          ? 'vae'
          : catalog.loras?.get(id)
            ? 'lora'
            : catalog.embeddings?.get(id)
              ? 'embeddings'
              : 'controlnet';
    if (kind === 'model' && id === ctx.defaultModel()) {
      throw badRequest(`model_id: "${id}" is the default model (DEFAULT_MODEL); make another model the default first`);
    }
    const folder = ctx.models.folder(kind, id);
    await ctx.workers.release(folder);
    await ctx.models.remove(kind, id);
    return { status: 'success', message: `${kind} "${id}" deleted` };
  });

  adminRoute('clear_cache', async () => {
    const released = await ctx.workers.release();
    return { status: 'success', message: `released ${released} model sessions; they reload on next use` };
  });

  // The whole queue: admin keys. One job (request_id, an extension): its owner too; another key's job is a 404.
  app.post('/api/v1/enterprise/clear_queue', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (body.request_id === undefined || body.request_id === null) {
      checkAdminKey(ctx.config, body.key, 'clear_queue');
      const removed = await ctx.jobs.clearQueue();
      return { status: 'success', message: `removed ${removed} queued jobs (running jobs finish)` };
    }
    const caller = checkKey(ctx.config, body.key);
    const id = typeof body.request_id === 'number' ? String(body.request_id) : typeof body.request_id === 'string' ? body.request_id.trim() : '';
    if (!/^\d{1,20}$/.test(id)) throw badRequest(`request_id: must be a job id, got ${JSON.stringify(body.request_id)}`);
    const record = await ctx.jobs.get(id);
    if (!record || !mayRead(caller, record.owner)) throw new ClientError(404, `request_id: no job ${id} on this server`);
    if (!(await ctx.jobs.cancel(id)))
      throw new ClientError(409, `request_id: job ${id} is ${record.state === 'queued' ? 'starting' : record.state}; only waiting jobs can be removed`);
    return { status: 'success', message: `removed queued job ${id}` };
  });

  adminRoute('restart_server', async () => {
    await ctx.models.rescan();
    await ctx.workers.restart();
    return { status: 'success', message: 'inference workers restarted and models rescanned' };
  });

  route('upload_image', async (body, request) => {
    const req = parse(managementSchemas.uploadImage, body);
    const ext = UPLOAD_TYPES[(req.image_type ?? 'png').toLowerCase()];
    if (!ext) throw badRequest(`image_type: one of ${Object.keys(UPLOAD_TYPES).join(', ')}, got "${req.image_type}"`);
    const data = req.base64_image!.replace(/^data:[^;]+;base64,/, '');
    const bytes = Buffer.from(data, 'base64');
    try {
      await decodeToRgb(bytes, ctx.config.image.maxPixels);
    } catch (err) {
      if (err instanceof ImageDecodeError) throw badRequest(`base64_image: ${err.message}`);
      throw err;
    }
    if (bytes.length > ctx.config.image.maxBytes) throw badRequest(`base64_image: larger than the limit of ${ctx.config.image.maxBytes} bytes`);
    const name = `${randomUUID()}.${ext}`;
    const dir = path.join(ctx.config.dataDir, 'uploads');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, name), bytes);
    // Other API nodes (behind the same load balancer) serve it from the shared store (S3 when configured, else Redis).
    await uploadStore(ctx)?.put(`uploads/${name}`, bytes, UPLOAD_TTL_MS);
    const s3 = ctx.objects?.enabled ? ctx.objects.location : null;
    const link = s3?.publicUrl ? `${s3.publicUrl}/uploads/${name}` : `${ctx.config.publicUrl}/uploads/${name}`;
    return { status: 'success', link, output: [link] };
  });
};
