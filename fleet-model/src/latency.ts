/**
 * Latency formulas: how long prefill, decode and model loading take on a node. Pure arithmetic over a
 * profile's size-class row; the simulated accelerator and the scheduler's predictions both call
 * these, so a prediction and a simulation agree by construction.
 *
 * - Prefill is compute-bound: inputTokens / (prefill tok/s × chips / referenceChips) / speedFactor.
 * - A decode step gives every one of B decoding sequences one token and takes
 *   t(B) = t1 × (1 + (B − 1) / Bsat) / speedFactor, with t1 = 1000 / decode tok/s at batch 1 and
 *   Bsat = ceiling / (batch-1 tok/s), ceiling = maxAggregateDecodeTokensPerSecond × chips / referenceChips.
 *   At B = 1 that is the published ITL; the aggregate B / t(B) rises monotonically and tends to the
 *   ceiling as B → ∞ (half of it at B ≈ Bsat), the shape of a memory-bound step that turns
 *   compute-bound as the batch grows.
 * - The first output token comes out of prefill, so a request of n output tokens decodes n − 1 steps.
 */
import type { ModelSpec, NodeHardware, SizeClassThroughput } from './types.js';

/** Fraction of a node's HBM that must stay free for KV cache after a model's weights. */
export const MIN_KV_HEADROOM_FRACTION = 0.1;

function throughputOf(hw: NodeHardware, model: ModelSpec): SizeClassThroughput {
  const row = hw.profile.throughput[model.sizeClass];
  if (row === undefined) {
    // A caller that skipped supportsModel has a bug; a silent NaN would poison a whole simulation.
    throw new RangeError(`profile ${hw.profile.name} has no ${model.sizeClass} figures for model ${model.name}`);
  }
  return row;
}

function chipScale(hw: NodeHardware): number {
  return hw.chipCount / hw.profile.referenceChipsPerNode;
}

/** The node's prefill rate for this model, in prompt tokens per millisecond at speed factor 1. */
export function prefillTokensPerMs(hw: NodeHardware, model: ModelSpec): number {
  return (throughputOf(hw, model).prefillTokensPerSecond * chipScale(hw)) / 1000;
}

/** Milliseconds to prefill `inputTokens` prompt tokens on the node's (single, serial) prefill lane. */
export function prefillMs(hw: NodeHardware, model: ModelSpec, inputTokens: number, speedFactor = 1): number {
  return inputTokens / prefillTokensPerMs(hw, model) / speedFactor;
}

/** Batch size at which the node reaches half its decode ceiling (Bsat in t(B)); scales with chips. */
export function decodeSaturationBatch(hw: NodeHardware, model: ModelSpec): number {
  const row = throughputOf(hw, model);
  return (row.maxAggregateDecodeTokensPerSecond * chipScale(hw)) / row.decodeTokensPerSecondBatch1;
}

/** Milliseconds of one decode step in which each of `batchSize` sequences gets one token: t(B). */
export function decodeStepMs(hw: NodeHardware, model: ModelSpec, batchSize: number, speedFactor = 1): number {
  const t1Ms = 1000 / throughputOf(hw, model).decodeTokensPerSecondBatch1;
  const batch = Math.max(1, batchSize);
  return (t1Ms * (1 + (batch - 1) / decodeSaturationBatch(hw, model))) / speedFactor;
}

/** Predicted service time of one request decoding among `batchSize` sequences (queueing excluded). */
export function predictServiceMs(
  hw: NodeHardware,
  model: ModelSpec,
  inputTokens: number,
  outputTokens: number,
  batchSize: number,
  speedFactor = 1,
): { prefillMs: number; decodeMs: number; totalMs: number } {
  const prefill = prefillMs(hw, model, inputTokens, speedFactor);
  const decode = Math.max(0, outputTokens - 1) * decodeStepMs(hw, model, batchSize, speedFactor);
  return { prefillMs: prefill, decodeMs: decode, totalMs: prefill + decode };
}

/** Milliseconds to load the model's weights into HBM on a cold start. */
export function modelLoadMs(hw: NodeHardware, model: ModelSpec): number {
  return (model.weightBytes / hw.profile.modelLoadBytesPerSecond) * 1000;
}

/** KV-cache bytes one sequence of `tokens` context tokens (prompt + output) holds. */
export function kvBytes(model: ModelSpec, tokens: number): number {
  return model.kvBytesPerToken * tokens;
}

/** Total HBM of the node in bytes. */
/**
 * Continuous-batching limit of a node: the reference node's limit scaled by chip count (the
 * engine runs one replica per group of chips), at least 1.
 */
export function defaultMaxBatchSize(hw: NodeHardware): number {
  return Math.max(1, Math.round((hw.profile.maxBatchSize * hw.chipCount) / hw.profile.referenceChipsPerNode));
}

export function nodeHbmBytes(hw: NodeHardware): number {
  return hw.profile.hbmBytesPerChip * hw.chipCount;
}

/**
 * Whether the node can serve the model at all: its profile has figures for the size class and the
 * weights fit in the node's HBM with at least 10 % left for KV cache.
 */
export function supportsModel(hw: NodeHardware, model: ModelSpec): boolean {
  if (hw.profile.throughput[model.sizeClass] === undefined) return false;
  return model.weightBytes <= nodeHbmBytes(hw) * (1 - MIN_KV_HEADROOM_FRACTION);
}
