/**
 * The public shapes of the simulated accelerator: its options, the jobs it takes, what it answers and
 * the events it emits. Kept apart from the engine so that callers (node agent, capacity simulator)
 * read the contract without the machinery.
 */
import type { ModelSpec, NodeHardware } from './types.js';

/** How a SimulatedAccelerator is built. */
export interface SimulatedAcceleratorOptions {
  readonly hardware: NodeHardware;
  /** The model catalogue (see createModelCatalog). */
  readonly models: (name: string) => ModelSpec | undefined;
  /** Models resident at startMs, loaded instantly; unknown, unsupported or too many throw. */
  readonly preloadedModels: readonly string[];
  /** Most jobs admitted at once (prefilling, decoding or waiting for a load); default profile.maxBatchSize. */
  readonly maxBatchSize?: number;
  /** Most jobs waiting for admission; default 4 × maxBatchSize. A full queue answers NO_CAPACITY. */
  readonly maxQueueDepth?: number;
  /** Seed of the RNG that draws each job's jitter. */
  readonly seed: number;
  /** ± fraction applied per job to its speed, drawn uniformly from the seeded RNG; default 0.03. */
  readonly jitter?: number;
  /** The engine's clock at construction, in ms (any epoch; virtual or wall time). */
  readonly startMs: number;
  /** Node-wide power limit in watts, clamped to powerLimitRange; default peak × chips (uncapped). */
  readonly powerLimitWatts?: number;
}

/** Admission priority: high before normal before low; FIFO within one. */
export type Priority = 'high' | 'normal' | 'low';

/** A request as the engine sees it. All outputs are produced: the job stops at maxOutputTokens. */
export interface SimJob {
  /** Unique among the engine's queued and running jobs. */
  readonly id: string;
  readonly model: string;
  /** Prompt tokens (an integer ≥ 0). */
  readonly inputTokens: number;
  /** Output tokens to produce (an integer ≥ 1); the first comes out of prefill. */
  readonly maxOutputTokens: number;
  /** Default 'normal'. */
  readonly priority?: Priority;
}

/** Answer to submit: accepted with the queue depth after it, or a typed rejection. */
export type SubmitOutcome =
  { ok: true; queueDepth: number } | { ok: false; code: 'UNKNOWN_MODEL' | 'NO_CAPACITY'; message: string };

/** Where a completed job's time went, in ms; ttftMs and totalMs are measured from submission. */
export interface JobTimings {
  /** Waiting for a batch slot, memory and the prefill lane (load time excluded). */
  queueMs: number;
  /** Waiting for its model to load after admission (0 when the model was resident). */
  loadMs: number;
  /** Submission to first token (end of prefill). */
  ttftMs: number;
  /** Submission to last token. */
  totalMs: number;
}

/** Something that happened inside the engine, at `atMs` on its clock. */
export type SimEvent =
  | { kind: 'first-token'; jobId: string; atMs: number }
  | { kind: 'completed'; jobId: string; atMs: number; outputTokens: number; timings: JobTimings; energyJoules: number }
  | { kind: 'model-loaded'; model: string; atMs: number };

/** A snapshot of the node, shaped like what a real agent reads from nvidia-smi / neuron-monitor and vLLM. */
export interface AcceleratorStatus {
  /** Jobs that have not started producing: waiting for admission, or admitted and waiting for the prefill lane. */
  queueDepth: number;
  /** Jobs prefilling or decoding (and admitted jobs waiting for a model load). */
  inFlight: number;
  /**
   * Milliseconds since start during which the accelerator computed (a prefill or a decode step ran):
   * the quantity nvidia-smi's `utilization.gpu` samples. Utilisation over a window is Δbusy / Δt.
   */
  busyMs: number;
  maxBatchSize: number;
  hbmTotalBytes: number;
  /** Weights of resident (loaded or loading) models plus the KV reserved by admitted jobs. */
  hbmUsedBytes: number;
  /** Watts drawn now: the load's demand, capped by the limit. */
  powerDrawWatts: number;
  powerLimitWatts: number;
  /** Steady-state temperature at the current draw. */
  temperatureC: number;
  /** Batch slots in use, inFlight / maxBatchSize, in [0, 1]. */
  /** Share of batch slots in use (admitted jobs / maxBatchSize). */
  batchOccupancy: number;
  models: { name: string; state: 'loaded' | 'loading' }[];
}
