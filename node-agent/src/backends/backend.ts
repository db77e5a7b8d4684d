import type { ErrorCode, LoadedModel, Priority, Timings } from '@switchyard/protocol';

/** One unit of work handed to an execution backend. */
export interface BackendJob {
  readonly id: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly priority: Priority;
  readonly prompt?: string;
  /**
   * Earlier turns of the session this job continues, oldest first. A stateless model server keeps
   * no context between requests, so a session's history goes with every turn (its prefix cache makes
   * that cheap while the session stays put); after a move it is the re-prefill.
   */
  readonly history?: readonly ChatTurn[];
}

/** One exchange of a session: what the client sent and what the model answered. */
export interface ChatTurn {
  readonly prompt: string;
  readonly answer: string;
}

/** A finished job. */
export interface BackendCompletion {
  readonly jobId: string;
  readonly outputTokens: number;
  readonly timings: Timings;
  readonly energyJoules: number;
  readonly text?: string;
}

/** What the backend reports for heartbeats. */
export interface BackendStatus {
  readonly queueDepth: number;
  readonly inFlight: number;
  readonly maxBatchSize: number;
  /** Cumulative milliseconds the accelerators computed; utilisation is its rate of change. */
  readonly busyMs: number;
  readonly hbmTotalBytes: number;
  readonly hbmUsedBytes: number;
  readonly powerDrawWatts: number;
  readonly powerLimitWatts: number;
  readonly temperatureC: number;
  readonly models: readonly LoadedModel[];
}

/**
 * Events a backend emits as work progresses, from its own timers or I/O callbacks. Per job, in
 * order: firstToken, any number of text chunks, then exactly one of completed or failed (none after
 * cancel).
 */
export interface BackendListener {
  firstToken(jobId: string): void;
  /** Generated text as it streams (real model servers; the simulated engine produces none). */
  text(jobId: string, chunk: string): void;
  completed(completion: BackendCompletion): void;
  /** The job ended without a result: the model server refused it, failed, or went away mid-stream. */
  failed(jobId: string, code: ErrorCode, message: string): void;
}

export type BackendSubmitOutcome =
  | { readonly ok: true; readonly queueDepth: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/**
 * Where a node's work runs: the simulated accelerator here, a local model server later. A backend
 * owns its queue and batching; the agent owns the wire and deadlines.
 */
export interface ExecutionBackend {
  /** Takes a job or refuses it at once (unknown model, queue full). Never throws for bad input. */
  submit(job: BackendJob): BackendSubmitOutcome;
  /** Drops a queued or running job; no completion will be reported for it. Returns whether it was known. */
  cancel(jobId: string): boolean;
  status(): BackendStatus;
  /**
   * Sets the node-wide power limit (W) and returns the limit applied, clamped into the range the
   * hardware accepts (fleet-model `clampPowerLimit`). Takes effect at once: the next status()
   * reports it. Called with a finite, non-negative number (the agent validates the command first).
   */
  setPowerLimit(watts: number): number;
  /** Jobs queued or running. */
  readonly activeJobs: number;
  /** Stops timers; pending work is abandoned (the agent answers it first). */
  close(): void;
}
