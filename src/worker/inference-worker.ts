import { parentPort, workerData } from 'node:worker_threads';
import { ClientError } from '../domain/client-error.js';
import { generate } from '../pipeline/generate.js';
import { ModelSessions } from '../pipeline/model-sessions.js';
import { warmUp } from '../pipeline/warmup.js';
import { makeHint } from '../preprocessors/registry.js';
import type { FromWorker, ToWorker, WorkerData } from './protocol.js';
import { SessionGate } from './session-gate.js';

/**
 * The inference worker thread: owns the onnxruntime sessions (session.run() keeps a thread busy for
 * the whole model call) and runs one job at a time, as the queue hands them over.
 */
const port = parentPort!;
const { settings, annotatorsDir } = workerData as WorkerData;
// One line per session (which provider runs it, and why others did not), and loud warnings.
const log = (line: string) => console.log(`[inference worker] ${line}`);
const models = new ModelSessions(settings, log, annotatorsDir);
// clear_cache / delete_model release sessions only when no job, hint or preload is using them; within
// MODEL_MEMORY_BUDGET, models.hold keeps what a job uses open while other sessions are closed to make room.
const gate = new SessionGate();

const post = (message: FromWorker) => port.postMessage(message);

/** Errors caused by the request or the model files (reported to the client as 4xx), not by us. */
const isClientError = (err: unknown): boolean => err instanceof ClientError && err.statusCode < 500;

port.on('message', async (message: ToWorker) => {
  switch (message.type) {
    case 'generate': {
      const { spec } = message;
      try {
        const result = await gate.use(() => models.hold(() => generate(spec, models, (p) => post({ type: 'progress', id: spec.id, ...p }))));
        post({ type: 'result', id: spec.id, result });
      } catch (err) {
        post({ type: 'failed', id: spec.id, message: (err as Error).message ?? String(err), clientError: isClientError(err) });
      }
      return;
    }
    case 'release':
      post({ type: 'reply', requestId: message.requestId, value: await gate.exclusive(() => models.release(message.prefix)) });
      return;
    case 'preload':
      try {
        await gate.use(() => models.hold(() => models.preload(message.model, message.controlnets)));
        post({ type: 'reply', requestId: message.requestId, value: null });
      } catch (err) {
        post({ type: 'reply', requestId: message.requestId, value: (err as Error).message });
      }
      return;
    case 'hint': {
      const { type, image, options } = message.request;
      try {
        const hint = await gate.use(() => models.hold(() => makeHint(type, image, { ...options, annotators: models.annotators, annotatorsDir })));
        post({ type: 'reply', requestId: message.requestId, value: { ok: true, image: hint.image, minusOneMask: hint.minusOneMask } });
      } catch (err) {
        post({ type: 'reply', requestId: message.requestId, value: { ok: false, message: (err as Error).message, clientError: isClientError(err) } });
      }
      return;
    }
    case 'warmup':
      try {
        post({
          type: 'reply',
          requestId: message.requestId,
          value: await gate.use(() => models.hold(() => warmUp(models, message.model, message.controlnets, message.sizes, log, message.fuse))),
        });
      } catch (err) {
        post({ type: 'reply', requestId: message.requestId, value: (err as Error).message });
      }
      return;
    case 'loaded':
      post({ type: 'reply', requestId: message.requestId, value: await models.loaded() });
      return;
  }
});
