/**
 * The fleet model: what accelerators and models are, and how long and how much power work takes on
 * them. Pure and deterministic (no I/O, no Date.now, no Math.random): the node agent's simulated
 * backend, the scheduler's predictions and the capacity simulator all use it, so a prediction and a
 * simulation are statements about the same model.
 */

/** Model size classes that accelerator profiles publish throughput for. */
/** `tiny`: models generated for CPU nodes, tests and the demo (tens of MB); the rest as published models. */
export type ModelSizeClass = 'tiny' | 'small' | 'medium' | 'large';

/** Throughput of one reference node for one model size class. */
export interface SizeClassThroughput {
  /** Prompt tokens per second a single prefill proceeds at (compute-bound). */
  readonly prefillTokensPerSecond: number;
  /** Output tokens per second of one sequence decoding alone (batch 1): 1000 / ITL(ms). */
  readonly decodeTokensPerSecondBatch1: number;
  /** Aggregate output tokens per second the node reaches under heavy batching (the saturation ceiling). */
  readonly maxAggregateDecodeTokensPerSecond: number;
}

/** An accelerator type's published figures, for a reference node of `referenceChipsPerNode` chips. */
export interface AcceleratorProfile {
  /** Profile name as it appears on the wire: 'trn1', 'trn2', 'inf2', 'h100', 'h200', 'a100', 'l4'. */
  readonly name: string;
  readonly vendor: 'nvidia' | 'aws' | 'cpu';
  /** Human description, e.g. 'NVIDIA H100 SXM 80GB'. */
  readonly description: string;
  readonly hbmBytesPerChip: number;
  /** Chips in the reference node the throughput figures are for (e.g. 8 for p5.48xlarge). */
  readonly referenceChipsPerNode: number;
  readonly idleWattsPerChip: number;
  /** Board power at full load (TDP), per chip. */
  readonly peakWattsPerChip: number;
  /** Lowest power limit the hardware accepts, per chip. */
  readonly minPowerLimitWattsPerChip: number;
  /** Continuous batching limit of the reference node's serving engine. */
  readonly maxBatchSize: number;
  /** Bytes per second weights load into HBM on a cold start (storage → HBM). */
  readonly modelLoadBytesPerSecond: number;
  /** Throughput per size class; a class absent here cannot run on this profile at all. */
  readonly throughput: Readonly<Partial<Record<ModelSizeClass, SizeClassThroughput>>>;
}

/** A model the fleet can serve. */
export interface ModelSpec {
  readonly name: string;
  readonly sizeClass: ModelSizeClass;
  /** Bytes of weights resident in HBM while loaded. */
  readonly weightBytes: number;
  /** KV-cache bytes per token of context (prompt + output) of one sequence. */
  readonly kvBytesPerToken: number;
}

/** A node's hardware, as the latency and power model needs it. */
export interface NodeHardware {
  readonly profile: AcceleratorProfile;
  /** Chips on this node; throughput and power scale linearly from the reference node. */
  readonly chipCount: number;
}
