/**
 * The engine's record of one job as it moves queued → (loading) → prefill-wait → prefill → decode →
 * done. Mutable on purpose: the engine updates it in place on every transition to stay allocation-light.
 */
import type { Priority, SimJob } from './simulated-accelerator-types.js';
import type { ModelSpec } from './types.js';

/** Where a job is; 'done' also marks a cancelled job so lazy queues skip it. */
export type JobPhase = 'queued' | 'loading' | 'prefill-wait' | 'prefill' | 'decode' | 'done';

/** A live job inside the simulated accelerator. */
export interface JobState {
  readonly id: string;
  readonly model: ModelSpec;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly priority: Priority;
  /** Seeded speed multiplier in [1 − jitter, 1 + jitter]. */
  readonly jitterFactor: number;
  readonly kvBytes: number;
  readonly submittedAtMs: number;
  phase: JobPhase;
  admittedAtMs: number;
  /** Time between admission and its model finishing loading (0 when resident). */
  loadMs: number;
  prefillStartMs: number;
  firstTokenAtMs: number;
  /** The energy-per-active-job accumulator when this job became active (prefill start). */
  energyMark: number;
}

/** Throws RangeError unless the token counts are integers with at least one output token. */
export function assertValidTokens(job: SimJob): void {
  if (!Number.isInteger(job.inputTokens) || job.inputTokens < 0) {
    throw new RangeError(`inputTokens must be an integer ≥ 0, got ${job.inputTokens}`);
  }
  if (!Number.isInteger(job.maxOutputTokens) || job.maxOutputTokens < 1) {
    throw new RangeError(`maxOutputTokens must be an integer ≥ 1, got ${job.maxOutputTokens}`);
  }
}

/** A freshly queued job's record. */
export function newJobState(
  job: SimJob,
  model: ModelSpec,
  kvBytes: number,
  jitterFactor: number,
  submittedAtMs: number,
): JobState {
  return {
    id: job.id,
    model,
    inputTokens: job.inputTokens,
    outputTokens: job.maxOutputTokens,
    priority: job.priority ?? 'normal',
    jitterFactor,
    kvBytes,
    submittedAtMs,
    phase: 'queued',
    admittedAtMs: 0,
    loadMs: 0,
    prefillStartMs: 0,
    firstTokenAtMs: 0,
    energyMark: 0,
  };
}
