/**
 * MODEL_MEMORY_BUDGET: how many bytes of model sessions a worker keeps open. Bytes ("12884901888") or with a unit
 * ("12GiB", "12 GB", "800MiB"; binary and decimal units). Default: the GPU's memory less a reserve for activations on
 * a GPU provider (from `nvidia-smi`, when it answers), else 60 % of the machine's RAM.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
};

/** "12GiB" → 12884901888; throws a message naming the setting on anything else. */
export function parseByteSize(raw: string, name = 'MODEL_MEMORY_BUDGET'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`config: ${name} must be a byte count, optionally with a unit (e.g. 12GiB, 800MB), got "${raw}"`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw new Error(`config: ${name} must be at least 1 byte, got "${raw}"`);
  return bytes;
}

/** Share of RAM the CPU default takes: the rest is for activations, the process and the system. */
export const CPU_SHARE = 0.6;
/** Share of the GPU's memory the default takes on a GPU provider: the rest is for activations and the CUDA context. */
export const GPU_SHARE = 0.8;

/** Total memory of GPU `deviceId` in bytes from nvidia-smi, or null when there is no nvidia-smi or it fails. */
export function nvidiaMemoryBytes(deviceId: number): number | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits', `--id=${deviceId}`], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const mib = Number(out.trim().split('\n')[0]);
    return Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : null;
  } catch {
    return null;
  }
}

export interface BudgetSource {
  bytes: number;
  /** Where the number came from, for the log and system_details. */
  source: 'MODEL_MEMORY_BUDGET' | 'gpu' | 'ram';
}

/**
 * The budget for this configuration. A GPU provider without an answer from nvidia-smi (another vendor, a container
 * without it) needs MODEL_MEMORY_BUDGET: guessing from RAM would overfill the card.
 */
export function memoryBudget(
  raw: string | undefined,
  firstProvider: string,
  deviceId: number,
  gpuBytes: (id: number) => number | null = nvidiaMemoryBytes,
): BudgetSource {
  if (raw !== undefined && raw.trim() !== '') return { bytes: parseByteSize(raw), source: 'MODEL_MEMORY_BUDGET' };
  if (firstProvider === 'cuda' || firstProvider === 'tensorrt' || firstProvider === 'webgpu') {
    const total = gpuBytes(deviceId);
    if (total === null)
      throw new Error(
        `config: MODEL_MEMORY_BUDGET is required with EXECUTION_PROVIDER=${firstProvider} when nvidia-smi cannot report the GPU's memory (e.g. 20GiB)`,
      );
    return { bytes: Math.floor(total * GPU_SHARE), source: 'gpu' };
  }
  return { bytes: Math.floor(os.totalmem() * CPU_SHARE), source: 'ram' };
}
