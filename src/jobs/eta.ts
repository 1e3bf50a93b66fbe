/**
 * Estimates how long jobs take, from the ones that finished: seconds per unit of work, where a unit
 * is one denoising step of one 512×512 sample with one ControlNet. An exponential moving average
 * follows the box's real speed (warm-up, other load) without storing history.
 */
export interface WorkSize {
  steps: number;
  width: number;
  height: number;
  samples: number;
  controlnets: number;
}

export function workUnits(w: WorkSize): number {
  const pixels = (w.width * w.height) / (512 * 512);
  // The UNet costs about as much as a ControlNet; each extra ControlNet adds about half a step.
  return w.steps * pixels * w.samples * (1 + 0.5 * Math.max(0, w.controlnets - 1));
}

export class EtaEstimator {
  private secondsPerUnit: number;

  constructor(
    initialSecondsPerUnit = 0.15,
    private readonly weight = 0.3,
  ) {
    this.secondsPerUnit = initialSecondsPerUnit;
  }

  record(size: WorkSize, seconds: number): void {
    const units = workUnits(size);
    if (units <= 0 || !Number.isFinite(seconds)) return;
    this.secondsPerUnit = (1 - this.weight) * this.secondsPerUnit + this.weight * (seconds / units);
  }

  seconds(size: WorkSize, fractionDone = 0): number {
    return workUnits(size) * this.secondsPerUnit * (1 - fractionDone);
  }
}

/** The work size of a stored job spec (the JSON form in a job record). */
export function workSizeOf(spec: Record<string, unknown>): WorkSize {
  return {
    steps: Number(spec.steps),
    width: Number(spec.width),
    height: Number(spec.height),
    samples: Number(spec.samples),
    controlnets: (spec.controlnets as unknown[]).length,
  };
}

/** How much of a running job is done (0 for queued ones), from its last progress. */
export function fractionDone(record: { state: string; progress: { step: number; total: number } | null }): number {
  return record.state === 'running' && record.progress ? record.progress.step / Math.max(1, record.progress.total) : 0;
}
