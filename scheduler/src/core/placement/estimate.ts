import {
  kvBytes,
  modelLoadMs,
  nodePowerWatts,
  PREFILL_POWER_FRACTION,
  powerSpeedFactor,
  predictServiceMs,
} from '@switchyard/fleet-model';
import type { NodeRecord } from '../fleet/node-record.js';
import type { Estimate, PlacementRequest } from './types.js';

/** Bytes of KV cache the request can grow to on any node (prompt + all output tokens). */
export function requestKvBytes(request: PlacementRequest): number {
  return kvBytes(request.model, request.inputTokens + request.maxOutputTokens);
}

/** What the node demands decoding `sequences` at once (no prefill), before its power limit. */
function decodeDemandWatts(node: NodeRecord, sequences: number): number {
  return nodePowerWatts(node.hardware, {
    prefillActive: false,
    decodeBatch: sequences,
    maxBatchSize: node.maxBatchSize,
  });
}

/**
 * Predicts the request's timings, energy and power on `node` from the fleet model.
 *
 * Time. Two waits add up:
 * - slots: with `load` requests on a node of batch size B, the request waits for (load + 1 − B)
 *   slots to free, and slots free at B per mean service time of the work already there (our
 *   reservations' predictions, or the request's own when we have none);
 * - prefill: prompts are processed one at a time, so every request waiting to start (the reported
 *   queue plus what we placed since that report) prefills first; each is costed like this one.
 * The client's round trip to the node's cluster comes on top of both TTFT and completion. A node
 * whose power limit is below what it would demand runs slower by the fleet model's cap law.
 *
 * Energy and power. Prefill runs alone on the node's serial lane, so the request owns the node's
 * prefill draw for its prefill time; during decode it shares the node's draw with the b − 1 other
 * sequences of its batch. The power delta is the rise in the node's (capped) decode draw from
 * load to load + 1: the marginal watts the cluster must find; prefill bursts are transient and
 * left out.
 */
export function estimateOn(node: NodeRecord, request: PlacementRequest): Estimate {
  const { hardware, maxBatchSize } = node;
  const load = node.load;
  const coldStart = !node.loadedModels.has(request.model.name);
  const loadMs = coldStart ? modelLoadMs(hardware, request.model) : 0;
  const batch = Math.min(load + 1, maxBatchSize);
  const limitWatts = node.powerLimitWatts > 0 ? node.powerLimitWatts : Number.POSITIVE_INFINITY;
  const demandWatts = decodeDemandWatts(node, batch);
  const speed = limitWatts === Number.POSITIVE_INFINITY ? 1 : powerSpeedFactor(demandWatts, limitWatts);
  const service = predictServiceMs(hardware, request.model, request.inputTokens, request.maxOutputTokens, batch, speed);
  const waitingAhead = load + 1 - maxBatchSize;
  let queueWaitMs = 0;
  if (waitingAhead > 0) {
    const reservations = node.reservations.size;
    const meanServiceMs = reservations > 0 ? node.reservedServiceMs / reservations : service.totalMs;
    queueWaitMs = (waitingAhead * meanServiceMs) / maxBatchSize;
  }
  queueWaitMs += node.prefillBacklog * service.prefillMs;
  const networkMs = node.clusterState?.networkMs(request.region) ?? 0;
  const ttftMs = networkMs + loadMs + queueWaitMs + service.prefillMs;

  const drawWatts = Math.min(demandWatts, limitWatts);
  const prefillWatts = Math.min(
    limitWatts,
    PREFILL_POWER_FRACTION * hardware.profile.peakWattsPerChip * hardware.chipCount,
  );
  const energyJoules = (prefillWatts * service.prefillMs + (drawWatts / batch) * service.decodeMs) / 1000;
  const before = load >= maxBatchSize ? drawWatts : Math.min(limitWatts, decodeDemandWatts(node, load));
  const powerDeltaWatts = Math.max(0, drawWatts - before);
  return {
    coldStart,
    networkMs,
    loadMs,
    queueWaitMs,
    prefillMs: service.prefillMs,
    ttftMs,
    decodeMs: service.decodeMs,
    totalMs: ttftMs + service.decodeMs,
    energyJoules,
    powerDeltaWatts,
  };
}
