import { type NodeHardware, type ModelSpec, SimulatedAccelerator, type SimEvent } from '@switchyard/fleet-model';
import type { BackendJob, BackendListener, BackendStatus, BackendSubmitOutcome, ExecutionBackend } from './backend.js';

/** Settings of one simulated node's accelerator. */
export interface SimulatedBackendOptions {
  readonly hardware: NodeHardware;
  readonly models: (name: string) => ModelSpec | undefined;
  readonly preloadedModels: readonly string[];
  readonly seed: number;
  readonly maxBatchSize?: number;
  readonly maxQueueDepth?: number;
  /** Node-wide power limit at start (W), clamped to the hardware's range; default uncapped. */
  readonly powerLimitWatts?: number;
  /** Wall clock in ms (injected for tests). */
  readonly clock?: () => number;
}

/**
 * Runs fleet-model's discrete-event SimulatedAccelerator against the wall clock: one timer armed
 * for the engine's next event, re-armed after every submit and every batch of events.
 */
export class SimulatedBackend implements ExecutionBackend {
  private readonly engine: SimulatedAccelerator;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    options: SimulatedBackendOptions,
    private readonly listener: BackendListener,
  ) {
    this.clock = options.clock ?? Date.now;
    this.engine = new SimulatedAccelerator({
      hardware: options.hardware,
      models: options.models,
      preloadedModels: options.preloadedModels,
      seed: options.seed,
      startMs: this.clock(),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.maxQueueDepth === undefined ? {} : { maxQueueDepth: options.maxQueueDepth }),
      ...(options.powerLimitWatts === undefined ? {} : { powerLimitWatts: options.powerLimitWatts }),
    });
  }

  get activeJobs(): number {
    return this.engine.jobCount;
  }

  submit(job: BackendJob): BackendSubmitOutcome {
    const outcome = this.engine.submit(
      {
        id: job.id,
        model: job.model,
        inputTokens: job.inputTokens,
        maxOutputTokens: job.maxOutputTokens,
        priority: job.priority,
      },
      this.clock(),
    );
    this.arm();
    return outcome;
  }

  cancel(jobId: string): boolean {
    const known = this.engine.cancel(jobId, this.clock());
    this.arm();
    return known;
  }

  status(): BackendStatus {
    return this.engine.status(this.clock());
  }

  /** Re-rates running work at once (the engine's speed follows the cap) and re-arms for the new next event. */
  setPowerLimit(watts: number): number {
    const applied = this.engine.setPowerLimit(watts, this.clock());
    this.arm();
    return applied;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    for (const event of this.engine.advance(this.clock())) this.emit(event);
    this.arm();
  }

  private emit(event: SimEvent): void {
    if (event.kind === 'first-token') this.listener.firstToken(event.jobId);
    else if (event.kind === 'completed') {
      this.listener.completed({
        jobId: event.jobId,
        outputTokens: event.outputTokens,
        timings: event.timings,
        energyJoules: event.energyJoules,
      });
    }
  }

  /** Arms the timer for the engine's next event, unless one is already armed at or before it. */
  private arm(): void {
    if (this.closed) return;
    const next = this.engine.nextEventAtMs();
    if (next === undefined) return;
    if (this.timer !== undefined && this.timerAtMs <= next) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAtMs = next;
    this.timer = setTimeout(() => this.pump(), Math.max(0, Math.ceil(next - this.clock())));
  }
}
