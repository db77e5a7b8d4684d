/**
 * Exhaustive equivalence: over seeded random fleets, the default pipeline's pick has the highest
 * weighted score among the nodes that pass every filter, with filters and scores recomputed here
 * by brute force from their documented formulas (plugin READMEs), not by calling the plugins.
 */
import {
  type AcceleratorProfile,
  ACCELERATOR_PROFILES,
  createRng,
  kvBytes,
  MODEL_CATALOG,
  type ModelSpec,
  supportsModel,
} from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import type { Liveness, NodeRecord, OperatorState } from '../fleet/node-record.js';
import * as fixtures from '../test-fixtures.js';
import { estimateOn } from './estimate.js';
import { buildPlacement, LATENCY_PLACEMENT_CONFIG } from './registry.js';
import type { PlacementRequest } from './types.js';

const placement = buildPlacement(LATENCY_PLACEMENT_CONFIG);
const PROFILES = Object.values(ACCELERATOR_PROFILES);
const L4 = fixtures.profile('l4');
const LARGE = fixtures.model('llama-3.1-405b');
const LIVENESS: Liveness[] = ['alive', 'alive', 'alive', 'alive', 'suspect', 'dead'];
const OPERATOR: OperatorState[] = ['active', 'active', 'active', 'active', 'cordoned', 'draining'];

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function randomNode(rng: () => number, i: number, only: AcceleratorProfile | undefined, healthy: boolean): NodeRecord {
  const profile = only ?? pick(rng, PROFILES);
  const chips = Math.max(1, Math.round(profile.referenceChipsPerNode * pick(rng, [0.5, 1, 1, 2])));
  const hbmTotalBytes = profile.hbmBytesPerChip * chips;
  // Only models the profile has figures for are reported loaded (see framework.test.ts for the other case).
  const runnable = MODEL_CATALOG.filter(
    (m) => profile.throughput[m.sizeClass] !== undefined && m.weightBytes < hbmTotalBytes,
  );
  const loaded = runnable.filter(() => rng() < 0.4).map((m) => m.name);
  const batch = profile.maxBatchSize;
  const node = fixtures.nodeRecord({
    nodeId: `n${i}`,
    profile: profile.name,
    chips,
    loaded,
    state: !healthy && rng() < 0.1 ? 'draining' : 'ready',
    queueDepth: rng() < 0.5 ? 0 : Math.floor(rng() * batch * 4),
    inFlight: Math.floor(rng() * batch * 1.2),
    maxBatchSize: batch,
    hbmTotalBytes,
    hbmUsedBytes: Math.floor(hbmTotalBytes * rng() * 0.95),
  });
  if (!healthy) {
    node.liveness = pick(rng, LIVENESS);
    node.operatorState = pick(rng, OPERATOR);
  }
  if (rng() < 0.3) {
    const count = Math.floor(rng() * batch * 2);
    fixtures.addReservations(node, count, { kvBytes: Math.floor(rng() * 1e9), predictedServiceMs: 50 + rng() * 5000 });
    node.assumedSinceHeartbeat = Math.floor(rng() * count);
  }
  return node;
}

function randomRequest(
  rng: () => number,
  nodes: readonly NodeRecord[],
  forcedModel: ModelSpec | undefined,
): PlacementRequest {
  const exclude = new Set(nodes.filter(() => rng() < 0.1).map((n) => n.nodeId));
  return {
    requestId: 'req',
    model: forcedModel ?? pick(rng, MODEL_CATALOG),
    inputTokens: 1 + Math.floor(rng() ** 3 * 200_000),
    maxOutputTokens: 1 + Math.floor(rng() * 4_000),
    priority: 'normal',
    sloClass: 'interactive',
    excludeNodeIds: exclude,
  };
}

/** The first filter (in default order) that rejects the node, by the READMEs' formulas. */
function firstRejection(node: NodeRecord, request: PlacementRequest): string | undefined {
  const reported = node.queueDepth + node.inFlight;
  const load = Math.max(reported, node.reservations.size);
  const loaded = node.models.some((m) => m.name === request.model.name && m.state === 'loaded');
  const eligible = node.liveness === 'alive' && node.operatorState === 'active' && node.reportedState === 'ready';
  if (!eligible || request.excludeNodeIds?.has(node.nodeId) === true) return 'schedulable';
  if (!supportsModel(node.hardware, request.model)) return 'model-supported';
  if (!(load < node.maxBatchSize * 5)) return 'queue-room';
  const need =
    kvBytes(request.model, request.inputTokens + request.maxOutputTokens) + (loaded ? 0 : request.model.weightBytes);
  let reservedKv = 0;
  for (const r of node.reservations.values()) reservedKv += r.kvBytes;
  if (need > node.hbmTotalBytes - node.hbmUsedBytes - reservedKv) return 'memory-fit';
  return undefined;
}

/** Weighted, normalised score of the default scorers (predicted-latency ×1, batch-headroom ×0.2). */
function expectedScore(node: NodeRecord, request: PlacementRequest): number {
  const estimate = estimateOn(node, request);
  const latency = 1 / (1 + estimate.totalMs / 2000);
  const load = Math.max(node.queueDepth + node.inFlight, node.reservations.size);
  const headroom = Math.min(1, Math.max(0, 1 - load / node.maxBatchSize));
  return (latency * 1 + headroom * 0.2) / 1.2;
}

describe('PlacementFramework equivalence with brute force', () => {
  it('picks a maximum-score admissible node, or rejects with the right code and counts, on 400 random fleets', () => {
    const rng = createRng(20_240_601);
    let placed = 0;
    let unknownModel = 0;
    for (let trial = 0; trial < 400; trial++) {
      // A third of the fleets are of one profile and some all healthy; every tenth is healthy L4s
      // asked for 405B, so that the UNKNOWN_MODEL path is always exercised.
      const unrunnable = trial % 10 === 0;
      const only = unrunnable ? L4 : rng() < 0.33 ? pick(rng, PROFILES) : undefined;
      const healthy = unrunnable || rng() < 0.3;
      const nodes = Array.from({ length: Math.floor(rng() * 25) }, (_, i) => randomNode(rng, i, only, healthy));
      const request = randomRequest(rng, nodes, unrunnable ? LARGE : undefined);
      const decision = placement.place(request, { nodes }, { nowMs: 0, rng: createRng(trial), explain: true });

      const verdicts = nodes.map((node) => ({ node, rejectedBy: firstRejection(node, request) }));
      const admissible = verdicts.filter((v) => v.rejectedBy === undefined).map((v) => v.node);
      const survivorsExplained = (decision.explanation ?? [])
        .filter((e) => e.rejectedBy === undefined)
        .map((e) => e.nodeId);
      expect(survivorsExplained, `trial ${trial}`).toEqual(admissible.map((n) => n.nodeId));

      const counts: Record<string, number> = {};
      for (const { rejectedBy } of verdicts)
        if (rejectedBy !== undefined) counts[rejectedBy] = (counts[rejectedBy] ?? 0) + 1;
      const onlyModel = nodes.length > 0 && verdicts.every((v) => v.rejectedBy === 'model-supported');
      const best = Math.max(...admissible.map((n) => expectedScore(n, request)));
      // Ties are scores within 1e-9, so the pick is the best to within that.
      const nearBest = expect.closeTo(best, 8);
      const expected =
        admissible.length === 0
          ? {
              ok: false,
              code: onlyModel ? 'UNKNOWN_MODEL' : 'NO_CAPACITY',
              rejectedBy: counts,
              candidates: nodes.length,
            }
          : { ok: true, admissible: true, bruteForceScore: nearBest, score: nearBest };
      const actual = decision.ok
        ? {
            ok: true,
            admissible: admissible.includes(decision.node),
            bruteForceScore: expectedScore(decision.node, request),
            score: decision.score,
          }
        : { ok: false, code: decision.code, rejectedBy: decision.rejectedBy, candidates: decision.candidates };
      expect(actual, `trial ${trial}`).toEqual(expected);
      if (decision.ok) placed++;
      if (onlyModel) unknownModel++;
    }
    // The generator must exercise both outcomes, or the property says little.
    expect(placed).toBeGreaterThan(100);
    expect(400 - placed).toBeGreaterThan(20);
    expect(unknownModel).toBeGreaterThan(0);
  });
});
