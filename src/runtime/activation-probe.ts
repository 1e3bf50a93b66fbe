/**
 * How much memory a session's first run at a size takes beyond its weights: onnxruntime's arenas (the CPU arena, the
 * CUDA BFC arena) grow to the run's peak and keep it, so the growth over the first run is what the session holds
 * from then on for that size. Measured at warm-up (warmup.ts) and counted in MODEL_MEMORY_BUDGET.
 *
 * - CPU: the process's peak resident set (VmHWM, reset before the run through /proc/self/clear_refs) less its
 *   resident set before; where the peak cannot be reset, the resident set after less before. Process-wide: other
 *   threads' allocations meanwhile count too (at start-up there are few).
 * - CUDA, TensorRT: this process's GPU memory from `nvidia-smi --query-compute-apps` (the device's used memory when
 *   the process is not listed, as in some containers) after the run less before.
 * - Other providers (WebGPU): not measured.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export interface MemoryProbe {
  /** What the number is, for reports ("resident set", "GPU memory"). */
  what: string;
  /** Runs `fn` and returns the memory growth over it in bytes (never negative), or null when it cannot be read. */
  growth(fn: () => Promise<unknown>): Promise<number | null>;
}

function statusKiB(field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const cpuProbe: MemoryProbe = {
  what: 'resident set',
  async growth(fn) {
    const before = statusKiB('VmRSS') ?? process.memoryUsage.rss();
    const peakKnown = resetPeak();
    await fn();
    const after = (peakKnown ? statusKiB('VmHWM') : null) ?? statusKiB('VmRSS') ?? process.memoryUsage.rss();
    return Math.max(0, after - before);
  },
};

/** This process's memory on GPU `deviceId` in bytes (the device's used memory when the process is not listed), or null. */
export function nvidiaUsedBytes(deviceId: number, pid = process.pid): number | null {
  const query = (args: string[]) =>
    execFileSync('nvidia-smi', [...args, '--format=csv,noheader,nounits', `--id=${deviceId}`], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  try {
    for (const line of query(['--query-compute-apps=pid,used_memory']).split('\n')) {
      const [p, mib] = line.split(',').map((v) => Number(v.trim()));
      if (p === pid && Number.isFinite(mib)) return mib! * 2 ** 20;
    }
    const mib = Number(query(['--query-gpu=memory.used']).trim().split('\n')[0]);
    return Number.isFinite(mib) ? mib * 2 ** 20 : null;
  } catch {
    return null;
  }
}

function gpuProbe(deviceId: number, read: (id: number) => number | null): MemoryProbe {
  return {
    what: 'GPU memory',
    async growth(fn) {
      const before = read(deviceId);
      await fn();
      const after = read(deviceId);
      return before === null || after === null ? null : Math.max(0, after - before);
    },
  };
}

/** The probe for sessions on `provider`, or null where there is none. */
export function memoryProbe(provider: string, deviceId: number, gpuRead: (id: number) => number | null = nvidiaUsedBytes): MemoryProbe | null {
  if (provider === 'cpu') return cpuProbe;
  if (provider === 'cuda' || provider === 'tensorrt') return gpuProbe(deviceId, gpuRead);
  return null;
}
