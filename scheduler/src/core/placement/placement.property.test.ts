/**
 * Properties of the default placement pipeline (`buildPlacement()`) over random fleets: clusters with
 * and without power budgets, client regions with configured and measured round trips, nodes of every
 * profile with random load, memory, draw, limits, health and open reservations, and requests of every
 * SLO class placed one after another (each placement assumed, so later ones see it). Admissibility
 * and the stages are recomputed here from the plugin READMEs, not by calling the plugins.
 */
import {
  ACCELERATOR_PROFILES,
  createRng,
  getProfile,
  kvBytes,
  MODEL_CATALOG,
  supportsModel,
} from '@switchyard/fleet-model';
import type { PowerStage, SloClass } from '@switchyard/protocol';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import type { NodeRecord } from '../fleet/node-record.js';
import { registration } from '../test-fixtures.js';
import type { ClusterState } from '../topology/cluster-state.js';
import { Topology } from '../topology/topology.js';
import { estimateOn, requestKvBytes } from './estimate.js';
import { buildPlacement } from './registry.js';
import type { Estimate, PlacementDecision, PlacementRequest } from './types.js';

const placement = buildPlacement();
const RUNS = { numRuns: 200, seed: 20_261_123 } as const;
const NOW_MS = 1_000_000;
const PROFILE_NAMES = Object.keys(ACCELERATOR_PROFILES);
const MODEL_NAMES = MODEL_CATALOG.map((m) => m.name);
const SLO_CLASSES: readonly SloClass[] = ['interactive', 'standard', 'batch'];
/** Default targets of the slo-aware scorer (its README). */
const DEFAULT_TARGET_MS: Readonly<Record<SloClass, number>> = {
  interactive: 1_000,
  standard: 30_000,
  batch: 3_600_000,
};
const STAGE_PENALTY: Readonly<Record<PowerStage, number>> = { normal: 1, steer: 2, defer: 4, cap: 8 };
/** Relative slack for "the least" and "the fastest": the picker treats scores within 1e-9 as ties. */
const RELATIVE_TOLERANCE = 1e-6;

// ---------------------------------------------------------------------------------------------
// Random fleets

type Health = 'ok' | 'agent-draining' | 'cordoned' | 'draining' | 'suspect' | 'dead' | 'draw-anomaly' | 'hbm-anomaly';

interface ClusterGen {
  readonly budgeted: boolean;
  /** Budget as a multiple of the committed draw once the fleet is built. */
  readonly budgetFactor: number;
  readonly safetyMargin: number;
  readonly capping: boolean;
}

interface RegionGen {
  /** Configured round trip to each cluster (budgeted ones only: the spec lists configured clusters). */
  readonly configuredMs: readonly (number | undefined)[];
  /** Measured round trips (any cluster that has nodes). */
  readonly measuredMs: readonly (number | undefined)[];
}

interface ReservationGen {
  readonly kvShare: number;
  readonly serviceMs: number;
  readonly deltaWatts: number;
  readonly sloClass: SloClass;
}

interface NodeGen {
  readonly profile: string;
  readonly chipsFactor: number;
  readonly batchDivisor: number;
  readonly cluster: number;
  readonly models: readonly string[];
  readonly queueShare: number;
  readonly inFlightShare: number;
  readonly hbmUsedShare: number;
  readonly drawShare: number;
  readonly limitShare: number;
  readonly health: Health;
  readonly reservations: readonly ReservationGen[];
}

interface RequestGen {
  readonly model: string;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly sloClass: SloClass;
  /** Index into the regions; one past the end is a region nobody configured. */
  readonly region: number | undefined;
  readonly targetMs: number | undefined;
  readonly exclude: readonly number[];
}

interface Scenario {
  readonly clusters: readonly ClusterGen[];
  readonly regions: readonly RegionGen[];
  readonly nodes: readonly NodeGen[];
  readonly requests: readonly RequestGen[];
  readonly seed: number;
}

const share = (max: number): fc.Arbitrary<number> => fc.double({ min: 0, max, noNaN: true });
const rtt = fc.option(fc.integer({ min: 0, max: 1_500 }), { nil: undefined });

const clusterArb: fc.Arbitrary<ClusterGen> = fc.record({
  budgeted: fc.constantFrom(true, true, true, false),
  // Half near 1, where the last watts of a budget and the steer/defer stages are decided.
  budgetFactor: fc.oneof(fc.double({ min: 0.6, max: 1.6, noNaN: true }), fc.double({ min: 1, max: 1.15, noNaN: true })),
  safetyMargin: share(0.2),
  capping: fc.constantFrom(false, false, false, false, false, true),
});

const regionArb: fc.Arbitrary<RegionGen> = fc.record({
  configuredMs: fc.array(rtt, { minLength: 4, maxLength: 4 }),
  measuredMs: fc.array(rtt, { minLength: 4, maxLength: 4 }),
});

const reservationArb: fc.Arbitrary<ReservationGen> = fc.record({
  kvShare: share(0.2),
  serviceMs: fc.integer({ min: 10, max: 20_000 }),
  deltaWatts: fc.integer({ min: 0, max: 3_000 }),
  sloClass: fc.constantFrom(...SLO_CLASSES),
});

const nodeArb: fc.Arbitrary<NodeGen> = fc.record({
  profile: fc.constantFrom(...PROFILE_NAMES),
  chipsFactor: fc.constantFrom(0.5, 1, 1, 2),
  batchDivisor: fc.constantFrom(1, 1, 16, 256),
  cluster: fc.nat({ max: 3 }),
  models: fc.subarray(MODEL_NAMES),
  queueShare: share(5.5),
  inFlightShare: share(1.2),
  hbmUsedShare: share(0.95),
  drawShare: share(1),
  limitShare: share(1),
  health: fc.constantFrom<Health>(
    ...Array<Health>(28).fill('ok'),
    'agent-draining',
    'cordoned',
    'draining',
    'suspect',
    'dead',
    'draw-anomaly',
    'hbm-anomaly',
  ),
  reservations: fc.array(reservationArb, { maxLength: 6 }),
});

const requestArb: fc.Arbitrary<RequestGen> = fc.record({
  model: fc.constantFrom(...MODEL_NAMES),
  inputTokens: fc.oneof(fc.integer({ min: 1, max: 4_000 }), fc.integer({ min: 1, max: 200_000 })),
  maxOutputTokens: fc.integer({ min: 1, max: 4_000 }),
  sloClass: fc.constantFrom(...SLO_CLASSES),
  region: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
  // 0: a deadline already reached (the ledger's remaining time never goes below 0).
  targetMs: fc.option(
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 7_200_000 })),
    { nil: undefined },
  ),
  exclude: fc.array(fc.nat({ max: 39 }), { maxLength: 3 }),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  clusters: fc.array(clusterArb, { minLength: 1, maxLength: 4 }),
  regions: fc.array(regionArb, { maxLength: 3 }),
  nodes: fc.array(nodeArb, { minLength: 1, maxLength: 40, size: 'max' }),
  requests: fc.array(requestArb, { minLength: 1, maxLength: 6, size: 'max' }),
  seed: fc.nat(),
});

const clusterName = (i: number): string => `c${i}`;
const regionName = (i: number): string => `r${i}`;

/** Registers the scenario's nodes, opens their reservations, lets the detector judge them, then sets budgets. */
function buildFleet(scenario: Scenario): FleetView {
  const { clusters, regions } = scenario;
  const topology = new Topology({
    // Budgets are placeholders until the fleet's draw is known (set below, as an operator would).
    clusters: clusters.flatMap((c, i) =>
      c.budgeted ? [{ name: clusterName(i), location: '', powerBudgetWatts: 1, safetyMargin: c.safetyMargin }] : [],
    ),
    regions: regions.map((r, i) => ({
      name: regionName(i),
      latencyMs: Object.fromEntries(
        r.configuredMs.flatMap((ms, c) =>
          ms !== undefined && c < clusters.length && clusters[c]!.budgeted ? [[clusterName(c), ms]] : [],
        ),
      ),
    })),
  });
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, undefined, topology);
  scenario.nodes.forEach((gen, i) => {
    const profile = getProfile(gen.profile)!;
    const chips = Math.max(1, Math.round(profile.referenceChipsPerNode * gen.chipsFactor));
    const hardware = { profile, chipCount: chips };
    const hbmTotalBytes = profile.hbmBytesPerChip * chips;
    // Only models the hardware can run are reported loaded (a misreport is model-supported's business).
    const loaded = gen.models.filter((name) =>
      supportsModel(
        hardware,
        MODEL_CATALOG.find((m) => m.name === name)!,
      ),
    );
    const weights = loaded.reduce((sum, name) => sum + MODEL_CATALOG.find((m) => m.name === name)!.weightBytes, 0);
    const batch = Math.max(1, Math.round(profile.maxBatchSize / gen.batchDivisor));
    const minLimit = profile.minPowerLimitWattsPerChip * chips;
    const peak = profile.peakWattsPerChip * chips;
    const limit = Math.round(minLimit + gen.limitShare * (peak - minLimit));
    const idle = profile.idleWattsPerChip * chips;
    const draw = Math.min(limit, Math.round(idle + gen.drawShare * (peak - idle)));
    const silentMs = gen.health === 'dead' ? 6_000 : gen.health === 'suspect' ? 3_500 : 0;
    fleet.register(
      registration({
        nodeId: `n${i}`,
        profile: gen.profile,
        chips,
        cluster: clusterName(gen.cluster % clusters.length),
        state: gen.health === 'agent-draining' ? 'draining' : 'ready',
        loaded,
        queueDepth: Math.floor(gen.queueShare * batch),
        inFlight: Math.floor(gen.inFlightShare * batch),
        maxBatchSize: batch,
        hbmTotalBytes,
        hbmUsedBytes:
          gen.health === 'hbm-anomaly'
            ? hbmTotalBytes + 1
            : Math.min(hbmTotalBytes, Math.max(weights, Math.floor(gen.hbmUsedShare * hbmTotalBytes))),
        powerDrawWatts: gen.health === 'draw-anomaly' ? Math.round(limit * 1.5) : draw,
        powerLimitWatts: limit,
      }),
      NOW_MS - silentMs,
    );
    if (gen.health === 'cordoned' || gen.health === 'draining') fleet.setOperatorState(`n${i}`, gen.health);
    gen.reservations.forEach((r, k) => {
      fleet.assume({
        requestId: `g${i}-${k}`,
        nodeId: `n${i}`,
        model: loaded[0] ?? MODEL_NAMES[0]!,
        kvBytes: Math.floor(r.kvShare * hbmTotalBytes),
        predictedServiceMs: r.serviceMs,
        powerDeltaWatts: r.deltaWatts,
        sloClass: r.sloClass,
        assumedAtMs: NOW_MS - silentMs,
        confirmedAtMs: undefined,
      });
    });
  });
  fleet.sweep(NOW_MS);
  clusters.forEach((gen, i) => {
    const state = topology.find(clusterName(i));
    if (state === undefined) return;
    if (gen.budgeted) {
      topology.setBudget(state.name, Math.max(1, state.committedWatts * gen.budgetFactor), gen.safetyMargin);
    }
    state.capping = gen.capping;
  });
  regions.forEach((r, i) =>
    r.measuredMs.forEach((ms, c) => {
      if (ms !== undefined) topology.observeLatency(regionName(i), clusterName(c), ms);
    }),
  );
  return fleet;
}

function requestOf(gen: RequestGen, scenario: Scenario, i: number): PlacementRequest {
  const region =
    gen.region === undefined ? undefined : gen.region < scenario.regions.length ? regionName(gen.region) : 'nowhere';
  return {
    requestId: `req-${i}`,
    model: MODEL_CATALOG.find((m) => m.name === gen.model)!,
    inputTokens: gen.inputTokens,
    maxOutputTokens: gen.maxOutputTokens,
    priority: 'normal',
    sloClass: gen.sloClass,
    region,
    targetMs: gen.targetMs,
    excludeNodeIds: new Set(gen.exclude.map((n) => `n${n}`)),
  };
}

// ---------------------------------------------------------------------------------------------
// The reference: admissibility, stages, targets and costs from the READMEs

/**
 * The cluster's stage by the power-budget README: `cap` only while the power controller caps,
 * otherwise the committed draw as a share of the usable budget.
 */
function stageOf(cluster: ClusterState): PowerStage {
  if (!Number.isFinite(cluster.budgetWatts)) return 'normal';
  const usable = cluster.budgetWatts * (1 - cluster.safetyMargin);
  const committed = cluster.measuredWatts + cluster.predictedWatts;
  if (cluster.capping) return 'cap';
  if (committed >= 0.95 * usable) return 'defer';
  if (committed >= 0.85 * usable) return 'steer';
  return 'normal';
}

/** Why the node cannot take the request under the default pipeline, or undefined if it can. */
type Refusal = 'health' | 'model' | 'queue' | 'memory' | 'stage' | 'budget';

interface Judged {
  readonly node: NodeRecord;
  readonly refusal: Refusal | undefined;
  /** Set for nodes that get as far as needing a prediction. */
  readonly estimate: Estimate | undefined;
}

function judge(node: NodeRecord, request: PlacementRequest): Judged {
  const refuse = (refusal: Refusal, estimate?: Estimate): Judged => ({ node, refusal, estimate });
  const healthy =
    node.liveness === 'alive' &&
    node.operatorState === 'active' &&
    node.reportedState === 'ready' &&
    node.anomaly === undefined;
  if (!healthy || request.excludeNodeIds?.has(node.nodeId) === true) return refuse('health');
  if (!supportsModel(node.hardware, request.model)) return refuse('model');
  const load = Math.max(node.queueDepth + node.inFlight, node.reservations.size);
  if (!(load < node.maxBatchSize * 5)) return refuse('queue');
  let reservedKv = 0;
  for (const r of node.reservations.values()) reservedKv += r.kvBytes;
  const loaded = node.models.some((m) => m.name === request.model.name && m.state === 'loaded');
  const need =
    kvBytes(request.model, request.inputTokens + request.maxOutputTokens) + (loaded ? 0 : request.model.weightBytes);
  if (need > node.hbmTotalBytes - node.hbmUsedBytes - reservedKv) return refuse('memory');
  const estimate = estimateOn(node, request);
  const cluster = node.clusterState!;
  if (Number.isFinite(cluster.budgetWatts)) {
    const stage = stageOf(cluster);
    if (request.sloClass === 'batch' && (stage === 'defer' || stage === 'cap')) return refuse('stage', estimate);
    // Work that adds no draw is admitted even to a cluster already over its budget.
    const committed = cluster.measuredWatts + cluster.predictedWatts;
    const delta = estimate.powerDeltaWatts;
    if (delta !== 0 && committed + delta > cluster.budgetWatts) return refuse('budget', estimate);
  }
  return { node, refusal: undefined, estimate };
}

function targetMs(request: PlacementRequest): number {
  return request.targetMs ?? DEFAULT_TARGET_MS[request.sloClass];
}

/** What the SLO is judged on: TTFT for interactive work, completion for the rest. */
function measuredMs(request: PlacementRequest, estimate: Estimate): number {
  return request.sloClass === 'interactive' ? estimate.ttftMs : estimate.totalMs;
}

function meets(request: PlacementRequest, estimate: Estimate): boolean {
  return measuredMs(request, estimate) <= targetMs(request);
}

/** Energy per token × the stage penalty (slo-aware README). */
function energyCost(request: PlacementRequest, judged: Judged): number {
  const tokens = request.inputTokens + request.maxOutputTokens;
  return (judged.estimate!.energyJoules / tokens) * STAGE_PENALTY[stageOf(judged.node.clusterState!)];
}

function atMostMin(value: number, min: number): boolean {
  return value <= min * (1 + RELATIVE_TOLERANCE) + 1e-12;
}

// ---------------------------------------------------------------------------------------------
// Running a scenario

interface Step {
  readonly fleet: FleetView;
  readonly request: PlacementRequest;
  readonly decision: PlacementDecision;
  readonly judged: readonly Judged[];
  readonly admissible: readonly Judged[];
  /** The chosen node's judgement (ok decisions only). */
  readonly chosen: Judged | undefined;
}

/**
 * Builds the fleet and places the requests in turn, calling `check` on each decision before it is
 * assumed (as the inference service does), so later requests see the earlier placements.
 */
function run(scenario: Scenario, check: (step: Step) => void): FleetView {
  const fleet = buildFleet(scenario);
  const rng = createRng(scenario.seed);
  scenario.requests.forEach((gen, i) => {
    const request = requestOf(gen, scenario, i);
    const judged = fleet.nodes.map((node) => judge(node, request));
    const decision = placement.place(request, { nodes: fleet.nodes }, { nowMs: NOW_MS, rng });
    const admissible = judged.filter((j) => j.refusal === undefined);
    const chosen = decision.ok ? judged.find((j) => j.node === decision.node) : undefined;
    check({ fleet, request, decision, judged, admissible, chosen });
    if (decision.ok) {
      fleet.assume({
        requestId: request.requestId,
        nodeId: decision.node.nodeId,
        model: request.model.name,
        kvBytes: requestKvBytes(request),
        predictedServiceMs: decision.estimate.totalMs - decision.estimate.queueWaitMs - decision.estimate.networkMs,
        powerDeltaWatts: decision.estimate.powerDeltaWatts,
        sloClass: request.sloClass,
        assumedAtMs: NOW_MS,
        confirmedAtMs: undefined,
      });
    }
  });
  return fleet;
}

function property(check: (step: Step) => void): void {
  fc.assert(
    fc.property(scenarioArb, (scenario) => {
      run(scenario, check);
    }),
    RUNS,
  );
}

// ---------------------------------------------------------------------------------------------
// Properties

describe('default placement pipeline: properties over random fleets', () => {
  it('never exceeds a node’s queue or memory, and never adds draw beyond its cluster’s power budget', () => {
    // Decisions that add no draw to a cluster already over its budget: admitted, and they must occur.
    let zeroOverBudget = 0;
    property(({ request, decision, chosen }) => {
      if (!decision.ok) return;
      const node = decision.node;
      expect(chosen?.refusal).toBeUndefined();
      expect(Math.max(node.queueDepth + node.inFlight, node.reservations.size)).toBeLessThan(node.maxBatchSize * 5);
      const loaded = node.loadedModels.has(request.model.name);
      expect(requestKvBytes(request) + (loaded ? 0 : request.model.weightBytes)).toBeLessThanOrEqual(
        node.hbmTotalBytes - node.hbmUsedBytes - node.reservedKvBytes,
      );
      const cluster = node.clusterState!;
      const deltaWatts = decision.estimate.powerDeltaWatts;
      const afterWatts = cluster.measuredWatts + cluster.predictedWatts + deltaWatts;
      const fits = afterWatts <= cluster.budgetWatts || deltaWatts === 0;
      expect({ afterWatts, deltaWatts, budget: cluster.budgetWatts, fits }).toMatchObject({ fits: true });
      const overBudget = afterWatts > cluster.budgetWatts;
      if (overBudget) zeroOverBudget++;
      // Over the budget is at least defer under the default thresholds, so batch work is never there.
      expect({ overBudget, sloClass: request.sloClass }).not.toEqual({ overBudget: true, sloClass: 'batch' });
      expect(decision.estimate).toEqual(estimateOn(node, request));
    });
    expect(zeroOverBudget).toBeGreaterThan(0);
  });

  it('keeps every budgeted cluster under its budget as placements are assumed one after another', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        // A cluster that starts under its budget stays under it (float slack for the order of sums).
        const under = new Map<ClusterState, boolean>();
        const breaches: string[] = [];
        const observe = (fleet: FleetView): void => {
          for (const cluster of fleet.topology.all()) {
            if (!cluster.budgeted) continue;
            const isUnder = cluster.committedWatts <= cluster.budgetWatts * (1 + 1e-12);
            if (under.get(cluster) === true && !isUnder) {
              breaches.push(`${cluster.name}: ${cluster.committedWatts} W > ${cluster.budgetWatts} W`);
            }
            if (!under.has(cluster)) under.set(cluster, isUnder);
          }
        };
        observe(run(scenario, ({ fleet }) => observe(fleet)));
        expect(breaches).toEqual([]);
      }),
      RUNS,
    );
  });

  it('reads the snapshot and never writes it', () => {
    property(({ fleet, request, decision }) => {
      const before = [...fleet.topology.all()].map((c) => [c.measuredWatts, c.predictedWatts, c.capping]);
      const loads = fleet.nodes.map((n) => [n.load, n.reservedKvBytes, n.assumedSinceHeartbeat]);
      const again = placement.place(request, { nodes: fleet.nodes }, { nowMs: NOW_MS, rng: createRng(1) });
      expect(again.ok).toBe(decision.ok);
      expect([...fleet.topology.all()].map((c) => [c.measuredWatts, c.predictedWatts, c.capping])).toEqual(before);
      expect(fleet.nodes.map((n) => [n.load, n.reservedKvBytes, n.assumedSinceHeartbeat])).toEqual(loads);
    });
  });

  it('puts every cluster in the stage the README gives: cap only while the controller caps', () => {
    property(({ fleet }) => {
      const stages = [...fleet.topology.all()].map((c) => [c.name, c.stage]);
      expect(stages).toEqual([...fleet.topology.all()].map((c) => [c.name, stageOf(c)]));
    });
  });

  it('never rejects a request (interactive or other) while some node can take it', () => {
    property(({ decision, judged, admissible }) => {
      expect(decision.ok).toBe(admissible.length > 0);
      // UNKNOWN_MODEL only when no node's hardware could ever serve it; otherwise "try again later".
      const code =
        admissible.length > 0
          ? undefined
          : judged.length > 0 && judged.every((j) => j.refusal === 'model')
            ? 'UNKNOWN_MODEL'
            : 'NO_CAPACITY';
      expect(decision.ok ? undefined : decision.code).toBe(code);
    });
  });

  it('meets the SLO whenever some admissible node can; interactive and batch work then take the least energy cost', () => {
    property(({ request, decision, admissible, chosen }) => {
      const meeting = admissible.filter((j) => meets(request, j.estimate!));
      if (meeting.length === 0) return;
      expect(decision.ok).toBe(true);
      expect(meets(request, chosen!.estimate!)).toBe(true);
      if (request.sloClass === 'standard') return; // standard work weighs completion time as well
      const least = Math.min(...meeting.map((j) => energyCost(request, j)));
      expect(atMostMin(energyCost(request, chosen!), least)).toBe(true);
    });
  });

  it('picks the fastest admissible node when none can meet the target', () => {
    property(({ request, decision, admissible, chosen }) => {
      if (admissible.length === 0 || admissible.some((j) => meets(request, j.estimate!))) return;
      expect(decision.ok).toBe(true);
      const fastest = Math.min(...admissible.map((j) => measuredMs(request, j.estimate!)));
      const picked = measuredMs(request, chosen!.estimate!);
      expect({ picked, fastest, ok: atMostMin(picked, fastest) }).toMatchObject({ ok: true });
    });
  });

  it('never places batch work in a cluster in the defer or cap stage', () => {
    property(({ request, decision }) => {
      if (!decision.ok || request.sloClass !== 'batch') return;
      const stage = stageOf(decision.node.clusterState!);
      expect(stage === 'defer' || stage === 'cap').toBe(false);
    });
  });

  it('never refuses interactive or standard work for a stage alone: capping every cluster changes no verdict', () => {
    property(({ fleet, request, decision }) => {
      if (request.sloClass === 'batch') return;
      const clusters = [...fleet.topology.all()];
      const capping = clusters.map((c) => c.capping);
      for (const cluster of clusters) cluster.capping = true;
      try {
        const capped = placement.place(request, { nodes: fleet.nodes }, { nowMs: NOW_MS, rng: createRng(1) });
        expect(capped.ok).toBe(decision.ok);
      } finally {
        clusters.forEach((c, i) => (c.capping = capping[i]!));
      }
    });
  });
});
