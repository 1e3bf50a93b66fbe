/**
 * Session and execution-provider options per provider, limited to what onnxruntime-node 1.30's binding forwards
 * (js/node/src/session_options_helper.cc; docs/gpu.md):
 *
 * - cuda, tensorrt: only `deviceId`. CUDA runs with onnxruntime's defaults — cudnn_conv_algo_search EXHAUSTIVE
 *   (the first run of each input shape benchmarks every convolution algorithm, hence the warm-up) and a
 *   kNextPowerOfTwo arena. TensorRT gets its options through the V2 struct, which makes it ignore the
 *   ORT_TENSORRT_* environment variables: no fp16 flag and no engine cache can be set from Node.
 * - webgpu: layout, validation and buffer-cache modes; the defaults are kept.
 * - session-wide `extra` config entries do pass through; we set two for GPU providers.
 */
import type * as ort from 'onnxruntime-node';

type ProviderConfig = ort.InferenceSession.ExecutionProviderConfig;

/** The executionProviders list for one attempt: the provider, the ones it leans on, CPU for what they cannot run. */
export function providerOptions(provider: string, deviceId: number): ProviderConfig[] {
  switch (provider) {
    case 'cuda':
      return [{ name: 'cuda', deviceId }, 'cpu'];
    case 'tensorrt':
      return [{ name: 'tensorrt', deviceId }, { name: 'cuda', deviceId }, 'cpu'];
    case 'webgpu':
      return [{ name: 'webgpu' }, 'cpu'];
    case 'cpu':
      return ['cpu'];
    default:
      return [provider, 'cpu'];
  }
}

/** Session config entries (onnxruntime's session.* keys) for a provider. */
function configEntries(provider: string): Record<string, string> {
  if (provider === 'cpu') return {};
  return {
    // The CPU threads only feed the GPU: do not let them spin between kernels.
    'intra_op.allow_spinning': '0',
    // CUDA: weights straight from the device allocator, not the arena, which would round ~1.7 GB of UNet up to 2 GB+.
    ...(provider === 'cuda' || provider === 'tensorrt' ? { use_device_allocator_for_initializers: '1' } : {}),
  };
}

export function sessionOptionsFor(provider: string, threads: number): ort.InferenceSession.SessionOptions {
  const session = configEntries(provider);
  return {
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    ...(Object.keys(session).length > 0 ? { extra: { session } } : {}),
  };
}
