/**
 * The default pipeline (slo-aware scorer, power-budget filter) searched through the placement index
 * against the full scan, on seeded random fleets with clusters and power budgets in every stage
 * (capped clusters with lowered node power limits included), client regions with configured and
 * measured round trips, every profile, memory pressure, saturated nodes and open reservations, and
 * requests of every SLO class with and without targets. Each fleet takes a run of decisions, and
 * between them the fleet and the clusters change as they would live (placements assumed, budgets
 * cut or raised, latencies measured, heartbeats with new load, cordons), so nothing the index keeps
 * may go stale.
 */
import { ACCELERATOR_PROFILES, createRng, getProfile, MODEL_CATALOG, type ModelSpec } from '@switchyard/fleet-model';
import type { SloClass } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import type { NodeRecord } from '../fleet/node-record.js';
import { heartbeat, registration } from '../test-fixtures.js';
import { planPowerLimits } from '../power/power-plan.js';
import { Topology } from '../topology/topology.js';
import { requestKvBytes } from './estimate.js';
import { PlacementIndex } from './placement-index.js';
import { buildPlacement } from './registry.js';
import type { PlacementDecision, PlacementRequest } from './types.js';

const placement = buildPlacement();
const PROFILES = Object.keys(ACCELERATOR_PROFILES);
const SLO_CLASSES: readonly SloClass[] = ['interactive', 'standard', 'batch'];
const NOW_MS = 1_000_000;

type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function between(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng();
}

interface Fleet {
  readonly fleet: FleetView;
  readonly clusters: readonly string[];
  readonly regions: readonly string[];
  /** Each node's status as last sent, to send it again with changes. */
  readonly seq: Map<string, number>;
}

/** A node's heartbeat with random load, memory, draw and power limit. */
function randomStatus(rng: Rng, nodeId: string, seq: number, cluster: string, profileName: string, chips: number) {
  const profile = getProfile(profileName)!;
  const hbmTotalBytes = profile.hbmBytesPerChip * chips;
  const runnable = MODEL_CATALOG.filter(
    (m) => profile.throughput[m.sizeClass] !== undefined && m.weightBytes < 0.9 * hbmTotalBytes,
  );
  const loaded = runnable.filter(() => rng() < 0.45).map((m) => m.name);
  const weights = loaded.reduce((sum, name) => sum + MODEL_CATALOG.find((m) => m.name === name)!.weightBytes, 0);
  const maxBatchSize = pick(rng, [1, 2, 8, 16, 64, 256, Math.max(1, Math.round(profile.maxBatchSize / 4))]);
  const saturated = rng() < 0.15;
  const inFlight = saturated ? maxBatchSize : Math.floor(rng() * rng() * maxBatchSize);
  const queueDepth = saturated ? Math.floor(rng() * 5.5 * maxBatchSize) : rng() < 0.8 ? 0 : Math.floor(rng() * 4);
  const peakWatts = profile.peakWattsPerChip * chips;
  // Limits: mostly the peak, some capped (a few fractional, which the family key rounds), some unset (0).
  const r = rng();
  const powerLimitWatts =
    r < 0.6
      ? peakWatts
      : r < 0.8
        ? Math.round(between(rng, 0.35, 1) * peakWatts)
        : r < 0.9
          ? between(rng, 0.35, 1) * peakWatts
          : 0;
  const drawCeiling = powerLimitWatts > 0 ? powerLimitWatts : peakWatts;
  const free = hbmTotalBytes - weights;
  return heartbeat({
    nodeId,
    seq,
    cluster,
    profile: profileName,
    chips,
    loaded,
    maxBatchSize,
    inFlight,
    queueDepth,
    hbmTotalBytes,
    hbmUsedBytes: Math.max(weights, Math.floor(weights + free * (rng() < 0.3 ? between(rng, 0.9, 1) : rng() * 0.9))),
    powerDrawWatts: Math.round(between(rng, 0.1, 1) * drawCeiling),
    powerLimitWatts,
  });
}

/** A fleet of `size` nodes over 1–5 clusters, budgets set from the committed draw to spread the stages. */
function randomFleet(rng: Rng, size: number): Fleet {
  const clusters = Array.from({ length: 1 + Math.floor(rng() * 5) }, (_, i) => `c${i}`);
  const budgeted = clusters.filter(() => rng() < 0.8);
  const regions = Array.from({ length: Math.floor(rng() * 4) }, (_, i) => `r${i}`);
  const topology = new Topology({
    clusters: budgeted.map((name) => ({
      name,
      location: '',
      powerBudgetWatts: 1e12,
      safetyMargin: between(rng, 0, 0.15),
    })),
    regions: regions.map((name) => ({
      name,
      latencyMs: Object.fromEntries(budgeted.filter(() => rng() < 0.7).map((c) => [c, Math.round(rng() * 400)])),
    })),
  });
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, new PlacementIndex(), topology);
  const seq = new Map<string, number>();
  const sameShape = rng() < 0.3 ? pick(rng, PROFILES) : undefined;
  for (let i = 0; i < size; i++) {
    const profileName = sameShape ?? pick(rng, PROFILES);
    const profile = getProfile(profileName)!;
    const chips = Math.max(1, Math.round(profile.referenceChipsPerNode * pick(rng, [0.5, 1, 1, 2])));
    const nodeId = `n${i}`;
    const status = randomStatus(rng, nodeId, 1, pick(rng, clusters), profileName, chips);
    fleet.register({ ...registration(), ...status }, NOW_MS);
    seq.set(nodeId, 1);
    if (rng() < 0.04) fleet.setOperatorState(nodeId, 'cordoned');
    const reservations = rng() < 0.3 ? Math.floor(rng() * 6) : 0;
    for (let r = 0; r < reservations; r++) assume(fleet, rng, nodeId, `pre-${i}-${r}`);
  }
  for (const name of regions) for (const c of clusters) if (rng() < 0.2) topology.observeLatency(name, c, rng() * 300);
  for (const name of budgeted) setStage(fleet, rng, name, seq);
  return { fleet, clusters, regions, seq };
}

/** Opens a reservation on a node as the inference service would after a placement. */
function assume(fleet: FleetView, rng: Rng, nodeId: string, requestId: string): void {
  fleet.assume({
    requestId,
    nodeId,
    model: pick(rng, MODEL_CATALOG).name,
    kvBytes: Math.floor(rng() * 4e9),
    predictedServiceMs: 10 + rng() * 20_000,
    powerDeltaWatts: rng() * 500,
    sloClass: pick(rng, SLO_CLASSES),
    assumedAtMs: NOW_MS,
    confirmedAtMs: undefined,
  });
}

/** Budgets a cluster from its committed draw: room to spare, steering, deferring, or over (capped). */
function setStage(fleet: FleetView, rng: Rng, name: string, seq: Map<string, number>): void {
  const state = fleet.topology.cluster(name);
  const factor = pick(rng, [0.5, 0.88, 0.97, 1.02, 1.1]);
  const usableShare = 1 - state.safetyMargin;
  fleet.topology.setBudget(name, Math.max(1, state.committedWatts / factor / usableShare));
  if (factor > 1 && rng() < 0.7) {
    // Over budget: the controller lowers limits, delivered as each node's next heartbeat.
    for (const change of planPowerLimits(state, fleet.nodes, new Set())) {
      const node = fleet.get(change.nodeId);
      if (node === undefined || node.liveness !== 'alive') continue;
      resend(fleet, seq, node, {
        powerLimitWatts: change.limitWatts,
        powerDrawWatts: Math.min(node.powerDrawWatts, change.limitWatts),
      });
    }
  }
}

/** Sends a node's current status again with changes, as its next heartbeat. */
function resend(fleet: FleetView, seq: Map<string, number>, node: NodeRecord, change: object): void {
  const next = (seq.get(node.nodeId) ?? 1) + 1;
  seq.set(node.nodeId, next);
  const outcome = fleet.applyHeartbeat(
    {
      ...heartbeat({
        nodeId: node.nodeId,
        incarnation: node.incarnation,
        seq: next,
        cluster: node.cluster,
        profile: node.profileName,
        chips: node.hardware.chipCount,
        loaded: [...node.loadedModels],
        maxBatchSize: node.maxBatchSize,
        inFlight: node.inFlight,
        queueDepth: node.queueDepth,
        hbmTotalBytes: node.hbmTotalBytes,
        hbmUsedBytes: node.hbmUsedBytes,
        powerDrawWatts: node.powerDrawWatts,
        powerLimitWatts: node.powerLimitWatts,
      }),
      ...change,
    },
    NOW_MS,
  );
  expect(outcome).toBe('applied');
}

function randomRequest(rng: Rng, fleet: Fleet, i: number): PlacementRequest {
  const model: ModelSpec = pick(rng, MODEL_CATALOG);
  const sloClass = pick(rng, SLO_CLASSES);
  const r = rng();
  const targetMs = r < 0.6 ? undefined : r < 0.8 ? Math.floor(rng() * 3_000) : Math.floor(rng() * 7_200_000);
  const exclude = new Set(fleet.fleet.nodes.filter(() => rng() < 0.03).map((n) => n.nodeId));
  return {
    requestId: `q${i}`,
    model,
    inputTokens: 1 + Math.floor(rng() ** 2 * 60_000),
    maxOutputTokens: 1 + Math.floor(rng() * 4_000),
    priority: 'normal',
    sloClass,
    ...(fleet.regions.length > 0 && rng() < 0.85 ? { region: pick(rng, [...fleet.regions, 'unlisted']) } : {}),
    ...(targetMs === undefined ? {} : { targetMs }),
    excludeNodeIds: exclude,
  };
}

/** Something that happens between decisions on a live fleet. */
function perturb(rng: Rng, fleet: Fleet, picked: PlacementDecision, request: PlacementRequest): void {
  if (picked.ok) {
    fleet.fleet.assume({
      requestId: request.requestId,
      nodeId: picked.node.nodeId,
      model: request.model.name,
      kvBytes: requestKvBytes(request),
      predictedServiceMs: picked.estimate.totalMs - picked.estimate.queueWaitMs - picked.estimate.networkMs,
      powerDeltaWatts: picked.estimate.powerDeltaWatts,
      sloClass: request.sloClass,
      assumedAtMs: NOW_MS,
      confirmedAtMs: undefined,
    });
  }
  const nodes = fleet.fleet.nodes;
  const r = rng();
  if (r < 0.15 && fleet.clusters.length > 0) {
    const name = pick(rng, fleet.clusters);
    const state = fleet.fleet.topology.find(name);
    if (state?.budgeted === true) setStage(fleet.fleet, rng, name, fleet.seq);
  } else if (r < 0.25 && fleet.regions.length > 0) {
    fleet.fleet.topology.observeLatency(pick(rng, fleet.regions), pick(rng, fleet.clusters), rng() * 500);
  } else if (r < 0.55 && nodes.length > 0) {
    const node = pick(rng, nodes);
    if (node.liveness === 'alive') {
      resend(fleet.fleet, fleet.seq, node, {
        inFlight: Math.floor(rng() * (node.maxBatchSize + 1)),
        queueDepth: rng() < 0.7 ? 0 : Math.floor(rng() * 3 * node.maxBatchSize),
        hbmUsedBytes: Math.floor(node.hbmUsedBytes * between(rng, 0.8, 1)),
      });
    }
  } else if (r < 0.6 && nodes.length > 0) {
    const node = pick(rng, nodes);
    fleet.fleet.setOperatorState(node.nodeId, node.operatorState === 'active' ? 'cordoned' : 'active');
  } else if (r < 0.7 && nodes.length > 0) {
    const node = pick(rng, nodes);
    const open = [...node.reservations.keys()];
    if (open.length > 0) fleet.fleet.release(pick(rng, open));
  }
}

describe('default pipeline: indexed search against the full scan', () => {
  it('uses the index', () => {
    expect(placement.usesIndex).toBe(true);
  });

  it('returns the best score of a full scan on 60 random fleets, 40 decisions each, while fleets and clusters change', () => {
    const rng = createRng(20_261_123);
    const outcomes = { placed: 0, rejected: 0 };
    const seen = { interactive: 0, standard: 0, batch: 0, meets: 0, misses: 0, stages: new Set<string>() };
    for (let trial = 0; trial < 60; trial++) {
      const fleet = randomFleet(rng, 20 + Math.floor(rng() * 280));
      for (let d = 0; d < 40; d++) {
        const request = randomRequest(rng, fleet, d);
        const context = { nowMs: NOW_MS, rng: createRng(trial * 1000 + d) };
        const fast = placement.place(request, fleet.fleet, context);
        const full = placement.scan(request, fleet.fleet, { ...context, explain: true });
        // Compared as one record, so a failure names the trial, the decision and every figure at once.
        const pickedInFull = fast.ok ? full.explanation?.find((e) => e.nodeId === fast.node.nodeId) : undefined;
        const actual = {
          trial,
          decision: d,
          ok: fast.ok,
          scoreGap: fast.ok && full.ok ? Math.abs(fast.score - full.score) <= 1e-9 : 'n/a',
          // The pick passes every filter and really scores the best (recomputed by the scan).
          pickAdmitted: pickedInFull === undefined ? 'n/a' : pickedInFull.rejectedBy === undefined,
          pickScoresBest:
            pickedInFull === undefined || !full.ok
              ? 'n/a'
              : Math.abs((pickedInFull.total ?? Number.NaN) - full.score) <= 1e-9,
        };
        expect(actual).toEqual({
          trial,
          decision: d,
          ok: full.ok,
          scoreGap: full.ok ? true : 'n/a',
          pickAdmitted: full.ok ? true : 'n/a',
          pickScoresBest: full.ok ? true : 'n/a',
        });
        if (fast.ok && full.ok) {
          outcomes.placed++;
          seen[request.sloClass]++;
          if (full.score >= 0.6) seen.meets++;
          else seen.misses++;
          seen.stages.add(fast.node.clusterState?.stage ?? 'normal');
        } else {
          outcomes.rejected++;
        }
        perturb(rng, fleet, fast, request);
      }
    }
    // The generator must exercise what the search bounds, or the property says little.
    expect(outcomes.placed).toBeGreaterThan(1500);
    expect(outcomes.rejected).toBeGreaterThan(20);
    expect(Math.min(seen.interactive, seen.standard, seen.batch)).toBeGreaterThan(200);
    expect(Math.min(seen.meets, seen.misses)).toBeGreaterThan(100);
    expect([...seen.stages].sort((a, b) => a.localeCompare(b))).toEqual(['cap', 'defer', 'normal', 'steer']);
  });
});
