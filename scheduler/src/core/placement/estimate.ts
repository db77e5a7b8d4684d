import { kvBytes, modelLoadMs, predictServiceMs } from '@switchyard/fleet-model';
import type { NodeRecord } from '../fleet/node-record.js';
import type { Estimate, PlacementRequest } from './types.js';

/** Bytes of KV cache the request can grow to on any node (prompt + all output tokens). */
export function requestKvBytes(request: PlacementRequest): number {
  return kvBytes(request.model, request.inputTokens + request.maxOutputTokens);
}

/**
 * Predicts the request's timings on `node` from the fleet model. Two waits add up:
 * - slots: with `load` requests on a node of batch size B, the request waits for (load + 1 − B)
 *   slots to free, and slots free at B per mean service time of the work already there (our
 *   reservations' predictions, or the request's own when we have none);
 * - prefill: prompts are processed one at a time, so every request waiting to start (the reported
 *   queue plus what we placed since that report) prefills first; each is costed like this one.
 */
export function estimateOn(node: NodeRecord, request: PlacementRequest): Estimate {
  const { hardware, maxBatchSize } = node;
  const load = node.load;
  const coldStart = !node.loadedModels.has(request.model.name);
  const loadMs = coldStart ? modelLoadMs(hardware, request.model) : 0;
  const batch = Math.min(load + 1, maxBatchSize);
  const service = predictServiceMs(hardware, request.model, request.inputTokens, request.maxOutputTokens, batch);
  const waitingAhead = load + 1 - maxBatchSize;
  let queueWaitMs = 0;
  if (waitingAhead > 0) {
    const reservations = node.reservations.size;
    const meanServiceMs = reservations > 0 ? node.reservedServiceMs / reservations : service.totalMs;
    queueWaitMs = (waitingAhead * meanServiceMs) / maxBatchSize;
  }
  queueWaitMs += node.prefillBacklog * service.prefillMs;
  const ttftMs = loadMs + queueWaitMs + service.prefillMs;
  return {
    coldStart,
    loadMs,
    queueWaitMs,
    prefillMs: service.prefillMs,
    ttftMs,
    decodeMs: service.decodeMs,
    totalMs: ttftMs + service.decodeMs,
  };
}
