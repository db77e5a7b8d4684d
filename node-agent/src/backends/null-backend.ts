import { clampPowerLimit, type ModelSpec, type NodeHardware, nodeHbmBytes } from '@switchyard/fleet-model';
import type { BackendJob, BackendListener, BackendStatus, BackendSubmitOutcome, ExecutionBackend } from './backend.js';

/**
 * Completes every job at once (on the next macrotask) with zero timings. It exists to measure
 * Switchyard's own overhead — the wire, the scheduler hop, the agent — with no model time to hide
 * it; `switchyard agent --backend null`. Models must still be ones the catalogue knows.
 */
export class NullBackend implements ExecutionBackend {
  private readonly pending = new Map<string, NodeJS.Immediate>();
  /** Draws nothing, but keeps the limit it was given so heartbeats show what the scheduler set. */
  private powerLimitWatts: number;

  constructor(
    private readonly hardware: NodeHardware,
    private readonly loadedModels: readonly string[],
    private readonly models: (name: string) => ModelSpec | undefined,
    private readonly listener: BackendListener,
    private readonly maxBatchSize = 1024,
    powerLimitWatts = Number.POSITIVE_INFINITY,
  ) {
    this.powerLimitWatts = clampPowerLimit(hardware, powerLimitWatts);
  }

  get activeJobs(): number {
    return this.pending.size;
  }

  submit(job: BackendJob): BackendSubmitOutcome {
    if (this.models(job.model) === undefined || !this.loadedModels.includes(job.model)) {
      return { ok: false, code: 'UNKNOWN_MODEL', message: `model ${job.model} is not loaded on this node` };
    }
    if (this.pending.size >= this.maxBatchSize)
      return { ok: false, code: 'NO_CAPACITY', message: 'null backend is full' };
    this.pending.set(
      job.id,
      setImmediate(() => {
        this.pending.delete(job.id);
        this.listener.firstToken(job.id);
        this.listener.completed({
          jobId: job.id,
          outputTokens: job.maxOutputTokens,
          timings: { queueMs: 0, loadMs: 0, ttftMs: 0, totalMs: 0 },
          energyJoules: 0,
        });
      }),
    );
    return { ok: true, queueDepth: 0 };
  }

  cancel(jobId: string): boolean {
    const timer = this.pending.get(jobId);
    if (timer === undefined) return false;
    clearImmediate(timer);
    this.pending.delete(jobId);
    return true;
  }

  status(): BackendStatus {
    return {
      queueDepth: 0,
      inFlight: this.pending.size,
      maxBatchSize: this.maxBatchSize,
      busyMs: 0,
      hbmTotalBytes: nodeHbmBytes(this.hardware),
      hbmUsedBytes: this.loadedModels.reduce((sum, name) => sum + (this.models(name)?.weightBytes ?? 0), 0),
      powerDrawWatts: 0,
      powerLimitWatts: this.powerLimitWatts,
      temperatureC: 0,
      models: this.loadedModels.map((name) => ({ name, state: 'loaded' as const })),
    };
  }

  setPowerLimit(watts: number): number {
    this.powerLimitWatts = clampPowerLimit(this.hardware, watts);
    return this.powerLimitWatts;
  }

  close(): void {
    for (const timer of this.pending.values()) clearImmediate(timer);
    this.pending.clear();
  }
}
