import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type {
  BaseModelFiles,
  GenerationResult,
  GenerationSpec,
  HintReply,
  HintRequest,
  LoadedReport,
  ProgressEvent,
  WarmupReport,
  WarmupSize,
} from '../domain/index.js';
import type { SessionSettings } from '../runtime/session.js';
import type { FromWorker, ToWorker, WorkerData } from './protocol.js';
import { JobFailedError } from '../domain/index.js';

export { JobFailedError };

interface Pending {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onProgress?: (e: ProgressEvent) => void;
}

/**
 * The HTTP thread's handle on one inference worker thread. If the thread dies (an exception that
 * escaped, or running out of memory), the job in flight fails with a clear error and a fresh thread
 * takes the next one: one bad job never takes the server down.
 */
export class InferenceWorker {
  private worker!: Worker;
  private readonly jobs = new Map<string, Pending>();
  private readonly requests = new Map<number, (value: unknown) => void>();
  private nextRequest = 1;
  private closing = false;

  constructor(
    private readonly settings: SessionSettings,
    private readonly annotatorsDir = 'models/annotators',
    /** Where the thread's console output goes; by default this process's stdout/stderr. */
    private readonly output?: (text: string) => void,
  ) {
    this.spawn();
  }

  run(spec: GenerationSpec, onProgress?: (e: ProgressEvent) => void): Promise<GenerationResult> {
    return new Promise((resolve, reject) => {
      this.jobs.set(spec.id, { resolve, reject, onProgress });
      this.send({ type: 'generate', spec });
    });
  }

  /** Closes the sessions whose model path starts with `prefix` (all by default). */
  release(prefix = ''): Promise<number> {
    return this.request({ type: 'release', requestId: 0, prefix }) as Promise<number>;
  }

  /** Opens a model's sessions ahead of the first request; resolves to an error message, or null. */
  preload(model: BaseModelFiles, controlnets: string[]): Promise<string | null> {
    return this.request({ type: 'preload', requestId: 0, model, controlnets }) as Promise<string | null>;
  }

  /** Computes a hint on this worker (annotator networks run where the sessions are). */
  hint(request: HintRequest): Promise<HintReply> {
    return this.request({ type: 'hint', requestId: 0, request }).then(
      (r) => (r as HintReply | undefined) ?? { ok: false, message: 'the inference worker stopped', clientError: false },
    );
  }

  /**
   * Runs each ControlNet + the UNet (batch 2) and the VAE decoder once per size, after preload, so the first
   * request at each size is not the slow one; builds the fused step graph of the UNet and the `fuse` ControlNets
   * first (warmup.ts). Resolves to a report per size, or an error message.
   */
  warmUp(model: BaseModelFiles, controlnets: string[], sizes: WarmupSize[], fuse: string[] = []): Promise<WarmupReport[] | string> {
    return this.request({ type: 'warmup', requestId: 0, model, controlnets, sizes, fuse }) as Promise<WarmupReport[] | string>;
  }

  /** The open sessions, each with the provider that runs it and why earlier providers were passed over. */
  loaded(): Promise<LoadedReport[]> {
    return this.request({ type: 'loaded', requestId: 0 }) as Promise<LoadedReport[]>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  /** Replaces the thread with a fresh one (all sessions closed); call only while no job runs. */
  async restart(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
    this.closing = false;
    this.spawn();
  }

  private spawn() {
    const workerData: WorkerData = { settings: this.settings, annotatorsDir: this.annotatorsDir };
    const capture = this.output !== undefined;
    if (import.meta.url.endsWith('.ts')) {
      // Running from TypeScript sources (tsx, vitest): register tsx's loader inside the thread first.
      const entry = new URL('./inference-worker.ts', import.meta.url).href;
      const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
      this.worker = new Worker(boot, { eval: true, workerData, stdout: capture, stderr: capture });
    } else {
      this.worker = new Worker(fileURLToPath(new URL('./inference-worker.js', import.meta.url)), { workerData, stdout: capture, stderr: capture });
    }
    if (this.output) {
      const output = this.output;
      this.worker.stdout.setEncoding('utf8').on('data', output);
      this.worker.stderr.setEncoding('utf8').on('data', output);
    }
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => this.failAll(`inference worker crashed: ${err.message}`));
    this.worker.on('exit', (code) => {
      if (this.closing) return;
      this.failAll(`inference worker exited with code ${code}`);
      this.spawn();
    });
  }

  private onMessage(m: FromWorker) {
    switch (m.type) {
      case 'progress':
        this.jobs.get(m.id)?.onProgress?.({ step: m.step, total: m.total });
        return;
      case 'result': {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        job?.resolve(m.result);
        return;
      }
      case 'failed': {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        job?.reject(new JobFailedError(m.message, m.clientError));
        return;
      }
      case 'reply':
        this.requests.get(m.requestId)?.(m.value);
        this.requests.delete(m.requestId);
        return;
    }
  }

  private request(message: Extract<ToWorker, { requestId: number }>): Promise<unknown> {
    const requestId = this.nextRequest++;
    return new Promise((resolve) => {
      this.requests.set(requestId, resolve);
      this.send({ ...message, requestId });
    });
  }

  private send(message: ToWorker) {
    this.worker.postMessage(message);
  }

  private failAll(reason: string) {
    for (const job of this.jobs.values()) job.reject(new JobFailedError(reason, false));
    this.jobs.clear();
    for (const resolve of this.requests.values()) resolve(undefined);
    this.requests.clear();
  }
}
