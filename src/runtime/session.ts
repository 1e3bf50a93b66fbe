import * as ort from 'onnxruntime-node';

export interface SessionSettings {
  /** Execution providers in order of preference; "cpu" is always tried last. */
  providers: readonly string[];
  deviceId: number;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads: number;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** The execution provider that accepted the model. */
  provider: string;
  path: string;
}

function providerConfig(name: string, deviceId: number): ort.InferenceSession.ExecutionProviderConfig {
  switch (name) {
    case 'cuda':
    case 'tensorrt':
      return { name, deviceId } as ort.InferenceSession.ExecutionProviderConfig;
    default:
      return name;
  }
}

/**
 * Opens a model on the first provider that accepts it. A provider whose runtime library is missing
 * (e.g. CUDA on a CPU-only install) fails at session creation, so we fall through to the next one
 * and report what really runs.
 */
export async function openSession(modelPath: string, settings: SessionSettings): Promise<LoadedSession> {
  const failures: string[] = [];
  const order = [...settings.providers.filter((p) => p !== 'cpu'), 'cpu'];
  for (const provider of order) {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: provider === 'cpu' ? ['cpu'] : [providerConfig(provider, settings.deviceId), 'cpu'],
      graphOptimizationLevel: 'all',
      ...(settings.threads > 0 ? { intraOpNumThreads: settings.threads } : {}),
    };
    try {
      const session = await ort.InferenceSession.create(modelPath, options);
      return { session, provider, path: modelPath };
    } catch (err) {
      failures.push(`${provider}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`could not open ${modelPath} on any execution provider (${failures.join('; ')})`);
}
