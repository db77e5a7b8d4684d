/**
 * A simulated fleet for the microbenchmarks: N nodes registered in a real FleetView through real
 * Registration and Heartbeat messages (encoded and decoded by the protocol codec, so every node is
 * schema-valid), in ten clusters of a real Topology with power budgets (most with room, some
 * steering or deferring work, one capping its nodes' power limits) and four client regions with a
 * latency matrix (request-mix.ts, which also builds the requests). Same seed, same fleet.
 */
import { createRng, getProfile } from '@switchyard/fleet-model';
import { Heartbeat, Registration, decode, encode, type PowerStage } from '@switchyard/protocol';
import {
  DEFAULT_FAILURE_DETECTOR,
  FleetView,
  PlacementIndex,
  Topology,
  estimateOn,
  requestKvBytes,
  type PlacementRequest,
} from '@switchyard/scheduler';
import { describeNode, modelOf, statusFor, type FixtureNode } from './fixture-nodes.js';
import { FIXTURE_CLUSTERS, setPowerStages } from './fleet-power.js';
import { FIXTURE_REGIONS } from './request-mix.js';
import { logUniformInt } from './seeded-draws.js';

/** Nodes are described in fixture-nodes.ts; re-exported because {@link FleetFixture.nodes} holds them. */
export type { FixtureNode } from './fixture-nodes.js';
/** The request generator lives beside the fleet: re-exported so one import gives both. */
export { buildRequestMix } from './request-mix.js';
export { FIXTURE_CLUSTERS, type FixtureCluster } from './fleet-power.js';

/** Counts of how the fixture fleet came out, for the report. */
export interface FleetFixtureStats {
  readonly nodes: number;
  /** The power stage each cluster ended in. */
  readonly stages: Readonly<Record<string, PowerStage>>;
  /** Nodes whose power limit the controller lowered (in the capping cluster). */
  readonly capped: number;
  readonly byProfile: Readonly<Record<string, number>>;
  readonly cordoned: number;
  readonly draining: number;
  readonly suspect: number;
  readonly saturated: number;
  readonly reservations: number;
}

/** A FleetView full of simulated nodes, and the means to make more heartbeats for them. */
export interface FleetFixture {
  readonly fleet: FleetView;
  readonly nodes: readonly FixtureNode[];
  /** The fixture's clock after the initial registrations, heartbeats and sweep. */
  readonly nowMs: number;
  readonly stats: FleetFixtureStats;
  /** A heartbeat for node `index` with sequence `seq` and fresh load figures drawn from `rng`. */
  heartbeat(index: number, seq: number, sentAtMs: number, rng: () => number): Heartbeat;
}

/** Options for {@link buildFleetFixture}. */
export interface FleetFixtureOptions {
  readonly nodes: number;
  readonly seed?: number;
  /** Round-trip every registration and heartbeat through encode/decode (default true). */
  readonly viaCodec?: boolean;
  /** Share of nodes an operator cordoned (default 0.015). */
  readonly cordonedShare?: number;
  /** Share of nodes whose agent reports `draining` (default 0.005). */
  readonly drainingShare?: number;
  /** Share of nodes that missed heartbeats long enough to be suspect (default 0.015). */
  readonly suspectShare?: number;
  /** Share of nodes holding 1-8 open reservations (placed, not yet reported finished; default 0.3). */
  readonly reservedShare?: number;
}

/** Epoch of the fixture's clock (a fixed instant, so runs replay exactly). */
export const FIXTURE_EPOCH_MS = 1_750_000_000_000;

function viaCodec<T>(schema: typeof Heartbeat | typeof Registration, message: T): T {
  const decoded = decode(schema, encode(message as object));
  if (!decoded.ok) throw new TypeError(`fixture built an invalid message: ${decoded.error.message}`);
  return decoded.value as T;
}

/**
 * Registers `options.nodes` nodes at FIXTURE_EPOCH_MS, sends every node but the would-be suspects a
 * heartbeat 3.5 s later, sweeps (so the silent ones turn suspect) and cordons a share of nodes.
 */
export function buildFleetFixture(options: FleetFixtureOptions): FleetFixture {
  const rng = createRng(options.seed ?? 1);
  const roundTrip = options.viaCodec ?? true;
  const cordonedShare = options.cordonedShare ?? 0.015;
  const drainingShare = options.drainingShare ?? 0.005;
  const suspectShare = options.suspectShare ?? 0.015;
  // The scheduler's own wiring: the fleet keeps a placement index current. Budgets are placeholders
  // until the fleet is built (setPowerStages).
  const topology = new Topology({
    clusters: FIXTURE_CLUSTERS.map((c) => ({ name: c.cluster, location: c.location, powerBudgetWatts: 1e12 })),
    regions: FIXTURE_REGIONS.map((r) => ({ name: r.name, latencyMs: r.latencyMs })),
  });
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, new PlacementIndex(), topology);
  const nodes: FixtureNode[] = [];
  const drainingIds = new Set<string>();
  const byProfile: Record<string, number> = {};
  let saturated = 0;

  for (let i = 0; i < options.nodes; i++) {
    const node = describeNode(i, rng);
    nodes.push(node);
    byProfile[node.profile.name] = (byProfile[node.profile.name] ?? 0) + 1;
    if (rng() < drainingShare) drainingIds.add(node.nodeId);
    const registration: Registration = {
      ...statusFor(node, 0, FIXTURE_EPOCH_MS, rng, drainingIds.has(node.nodeId)),
      agentVersion: '0.1.0',
      heartbeatIntervalMs: 1000,
    };
    const outcome = fleet.register(roundTrip ? viaCodec(Registration, registration) : registration, FIXTURE_EPOCH_MS);
    if (!outcome.ok) throw new Error(`fixture registration failed: ${outcome.message}`);
  }

  const nowMs = FIXTURE_EPOCH_MS + 3_500;
  let suspect = 0;
  nodes.forEach((node, i) => {
    if (rng() < suspectShare) {
      suspect++;
      return;
    }
    const heartbeat = statusFor(node, 1, nowMs - 10, rng, drainingIds.has(node.nodeId));
    if (heartbeat.queueDepth > 0) saturated++;
    const outcome = fleet.applyHeartbeat(roundTrip ? viaCodec(Heartbeat, heartbeat) : heartbeat, nowMs);
    if (outcome !== 'applied') throw new Error(`fixture heartbeat ${i} was ${outcome}`);
  });
  const sweep = fleet.sweep(nowMs);
  if (sweep.suspected.length !== suspect) {
    throw new Error(`expected ${suspect} suspect nodes after the sweep, got ${sweep.suspected.length}`);
  }

  let cordoned = 0;
  for (const node of nodes) {
    if (rng() < cordonedShare) {
      fleet.setOperatorState(node.nodeId, rng() < 0.75 ? 'cordoned' : 'draining');
      cordoned++;
    }
  }

  const reservations = reserveSome(fleet, nodes, options.reservedShare ?? 0.3, nowMs, rng);
  // Budgets and power limits draw from a stream of their own, so the nodes stay those earlier
  // versions of the fixture built.
  const powerRng = createRng((options.seed ?? 1) * 7919 + 29);
  const byId = new Map(nodes.map((node) => [node.nodeId, node]));
  const limits = new Map<string, number>();
  const stages = setPowerStages(fleet, topology, powerRng, (record, limitWatts) => {
    const node = byId.get(record.nodeId);
    // A silent (suspect) node's agent would not take the new limit; leave it be.
    if (node === undefined || record.liveness !== 'alive') return;
    limits.set(node.nodeId, limitWatts);
    const heartbeat = statusFor(
      node,
      record.lastSeq + 1,
      nowMs - 5,
      powerRng,
      drainingIds.has(node.nodeId),
      limitWatts,
    );
    const outcome = fleet.applyHeartbeat(roundTrip ? viaCodec(Heartbeat, heartbeat) : heartbeat, nowMs);
    if (outcome !== 'applied') throw new Error(`fixture power-limit heartbeat to ${node.nodeId} was ${outcome}`);
  });

  return {
    fleet,
    nodes,
    nowMs,
    stats: {
      nodes: nodes.length,
      stages,
      capped: limits.size,
      byProfile,
      cordoned,
      draining: drainingIds.size,
      suspect,
      saturated,
      reservations,
    },
    heartbeat(index, seq, sentAtMs, heartbeatRng) {
      const node = nodes[index];
      if (node === undefined) throw new RangeError(`no fixture node ${index}`);
      return statusFor(node, seq, sentAtMs, heartbeatRng, drainingIds.has(node.nodeId), limits.get(node.nodeId));
    },
  };
}

/**
 * Assumes 1-8 reservations on a share of nodes, for a model each node has loaded, as the inference
 * service would (KV bytes and predicted service time from the same estimate). Returns how many.
 */
function reserveSome(
  fleet: FleetView,
  nodes: readonly FixtureNode[],
  share: number,
  nowMs: number,
  rng: () => number,
): number {
  let count = 0;
  for (const node of nodes) {
    const record = fleet.get(node.nodeId);
    const loaded = node.models.find((m) => m.state === 'loaded');
    if (record === undefined || loaded === undefined || rng() >= share) continue;
    const reservationsHere = 1 + Math.floor(rng() * 8);
    for (let j = 0; j < reservationsHere; j++) {
      const request: PlacementRequest = {
        requestId: `fixture-${node.nodeId}-${j}`,
        model: modelOf(loaded.name),
        inputTokens: logUniformInt(rng, 32, 8_000),
        maxOutputTokens: logUniformInt(rng, 16, 1_024),
        priority: 'normal',
        sloClass: 'interactive',
      };
      const estimate = estimateOn(record, request);
      fleet.assume({
        requestId: request.requestId,
        nodeId: node.nodeId,
        model: loaded.name,
        kvBytes: requestKvBytes(request),
        predictedServiceMs: estimate.totalMs - estimate.queueWaitMs - estimate.networkMs,
        powerDeltaWatts: estimate.powerDeltaWatts,
        sloClass: request.sloClass,
        assumedAtMs: nowMs - Math.floor(rng() * 2_000),
        confirmedAtMs: rng() < 0.9 ? nowMs - Math.floor(rng() * 1_000) : undefined,
      });
      count++;
    }
  }
  return count;
}
