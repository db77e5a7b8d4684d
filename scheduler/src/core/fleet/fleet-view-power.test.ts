/**
 * Cluster power accounting in FleetView: every cluster's measured draw is the sum of what its live
 * nodes last reported, its predicted draw the sum of the power deltas placed on them since, and
 * both follow heartbeats, cluster moves, deaths and departures.
 */
import { getProfile } from '@switchyard/fleet-model';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heartbeat, type NodeSpec, registration, reservation } from '../test-fixtures.js';
import { Topology } from '../topology/topology.js';
import type { ClusterState } from '../topology/cluster-state.js';
import type { FailureDetectorConfig } from './failure-detector.js';
import { FleetView } from './fleet-view.js';

const DETECTOR: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };

function newFleet(): { fleet: FleetView; topology: Topology } {
  const topology = new Topology({
    clusters: [
      { name: 'a', location: 'fra', powerBudgetWatts: 100_000 },
      { name: 'b', location: 'ams', powerBudgetWatts: 50_000 },
    ],
    regions: [],
  });
  return { fleet: new FleetView(getProfile, DETECTOR, undefined, topology), topology };
}

/** An h100 node (8 chips, 5,600 W limit) in `cluster` drawing `powerDrawWatts`. */
function spec(nodeId: string, cluster: string, powerDrawWatts: number, extra: NodeSpec = {}): NodeSpec {
  return { nodeId, cluster, powerDrawWatts, profile: 'h100', ...extra };
}

function power(state: ClusterState | undefined): { measured: number; predicted: number; live: number } {
  if (state === undefined) throw new TypeError('cluster not found');
  return { measured: state.measuredWatts, predicted: state.predictedWatts, live: state.liveNodes };
}

describe('cluster power from registrations and heartbeats', () => {
  it('sums the draw of registered nodes into their configured cluster', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 1_000)), 0);
    fleet.register(registration(spec('n2', 'a', 2_500)), 0);
    fleet.register(registration(spec('n3', 'b', 700)), 0);
    expect(power(topology.find('a'))).toEqual({ measured: 3_500, predicted: 0, live: 2 });
    expect(power(topology.find('b'))).toEqual({ measured: 700, predicted: 0, live: 1 });
    expect(fleet.get('n1')!.clusterState).toBe(topology.find('a'));
  });

  it('creates an unbudgeted cluster for a node in a cluster the topology does not name', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'elsewhere', 1_200)), 0);
    const state = topology.find('elsewhere')!;
    expect(state.budgeted).toBe(false);
    expect(power(state)).toEqual({ measured: 1_200, predicted: 0, live: 1 });
  });

  const beats: { name: string; beat: NodeSpec; measured: number; outcome: string }[] = [
    { name: 'draw rises', beat: { seq: 1, powerDrawWatts: 4_000 }, measured: 5_000, outcome: 'applied' },
    { name: 'draw falls', beat: { seq: 1, powerDrawWatts: 100 }, measured: 1_100, outcome: 'applied' },
    {
      name: 'a stale heartbeat changes nothing',
      beat: { seq: 0, powerDrawWatts: 4_000 },
      measured: 3_000,
      outcome: 'stale',
    },
    {
      name: 'another incarnation changes nothing',
      beat: { seq: 1, incarnation: 'other', powerDrawWatts: 4_000 },
      measured: 3_000,
      outcome: 'unknown-node',
    },
  ];

  it.each(beats)('$name', ({ beat, measured, outcome }) => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 2_000)), 0);
    fleet.register(registration(spec('n2', 'a', 1_000)), 0);
    expect(fleet.applyHeartbeat(heartbeat(spec('n1', 'a', 2_000, beat)), 1_000)).toBe(outcome);
    expect(power(topology.find('a'))).toEqual({ measured, predicted: 0, live: 2 });
  });

  it('moves a node that reports another cluster, with its draw and its predicted watts', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 2_000)), 0);
    fleet.register(registration(spec('n2', 'a', 1_000)), 0);
    fleet.assume(reservation('r1', 'n1', { powerDeltaWatts: 300 }));
    fleet.assume(reservation('r2', 'n2', { powerDeltaWatts: 50 }));
    expect(fleet.applyHeartbeat(heartbeat(spec('n1', 'b', 2_200, { seq: 1 })), 1_000)).toBe('applied');
    expect(power(topology.find('a'))).toEqual({ measured: 1_000, predicted: 50, live: 1 });
    expect(power(topology.find('b'))).toEqual({ measured: 2_200, predicted: 0, live: 1 });
    expect(fleet.get('n1')!.clusterState).toBe(topology.find('b'));
  });
});

describe('predicted power of placements', () => {
  it('adds each placement’s delta to its cluster until the node reports again', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 2_000)), 0);
    fleet.register(registration(spec('n2', 'a', 1_000)), 0);
    fleet.assume(reservation('r1', 'n1', { powerDeltaWatts: 300 }));
    fleet.assume(reservation('r2', 'n1', { powerDeltaWatts: 200 }));
    fleet.assume(reservation('r3', 'n2', { powerDeltaWatts: 100 }));
    const a = topology.find('a')!;
    expect(power(a)).toEqual({ measured: 3_000, predicted: 600, live: 2 });
    expect(a.committedWatts).toBe(3_600);
    expect(fleet.get('n1')!.assumedPowerWatts).toBe(500);

    // n1's heartbeat now shows its work in its draw: its predictions go, n2's stay.
    fleet.applyHeartbeat(heartbeat(spec('n1', 'a', 2_450, { seq: 1 })), 1_000);
    expect(power(a)).toEqual({ measured: 3_450, predicted: 100, live: 2 });
    expect(fleet.get('n1')!.assumedPowerWatts).toBe(0);
    // The reservations themselves stay open: only their power is now measured.
    expect(fleet.get('n1')!.reservations.size).toBe(2);
  });

  it('keeps a released placement’s delta until the next heartbeat measures the node', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 2_000)), 0);
    fleet.assume(reservation('r1', 'n1', { powerDeltaWatts: 300 }));
    fleet.release('r1');
    expect(power(topology.find('a'))).toEqual({ measured: 2_000, predicted: 300, live: 1 });
    fleet.applyHeartbeat(heartbeat(spec('n1', 'a', 2_000, { seq: 1 })), 1_000);
    expect(power(topology.find('a'))).toEqual({ measured: 2_000, predicted: 0, live: 1 });
  });

  it('keeps predictions across a repeated registration of the same incarnation with no newer status', () => {
    const { fleet, topology } = newFleet();
    fleet.register(registration(spec('n1', 'a', 2_000, { seq: 4 })), 0);
    fleet.assume(reservation('r1', 'n1', { powerDeltaWatts: 300 }));
    fleet.register(registration(spec('n1', 'a', 9_000, { seq: 4 })), 10);
    expect(power(topology.find('a'))).toEqual({ measured: 2_000, predicted: 300, live: 1 });
    fleet.register(registration(spec('n1', 'a', 2_400, { seq: 5 })), 20);
    expect(power(topology.find('a'))).toEqual({ measured: 2_400, predicted: 0, live: 1 });
  });
});

/** Two nodes in cluster a (2,000 W and 1,000 W) with a placement each (300 W and 50 W predicted). */
function fleetWithTwo(): { fleet: FleetView; a: ClusterState } {
  const { fleet, topology } = newFleet();
  fleet.register(registration(spec('n1', 'a', 2_000)), 0);
  fleet.register(registration(spec('n2', 'a', 1_000)), 0);
  fleet.assume(reservation('r1', 'n1', { powerDeltaWatts: 300 }));
  fleet.assume(reservation('r2', 'n2', { powerDeltaWatts: 50 }));
  return { fleet, a: topology.find('a')! };
}

describe('nodes that die or leave', () => {
  it('keeps counting a suspect node (it may well still be drawing)', () => {
    const { fleet, a } = fleetWithTwo();
    expect(fleet.sweep(DETECTOR.suspectAfterMs).suspected).toHaveLength(2);
    expect(power(a)).toEqual({ measured: 3_000, predicted: 350, live: 2 });
  });

  it('takes a dead node’s draw and predictions out once, and not again when it is forgotten', () => {
    const { fleet, a } = fleetWithTwo();
    fleet.applyHeartbeat(heartbeat(spec('n2', 'a', 1_000, { seq: 1 })), DETECTOR.deadAfterMs);
    expect(fleet.sweep(DETECTOR.deadAfterMs).died.map((d) => d.node.nodeId)).toEqual(['n1']);
    expect(power(a)).toEqual({ measured: 1_000, predicted: 0, live: 1 });
    fleet.applyHeartbeat(heartbeat(spec('n2', 'a', 1_000, { seq: 2 })), DETECTOR.forgetAfterMs);
    expect(fleet.sweep(DETECTOR.forgetAfterMs).forgotten).toEqual(['n1']);
    expect(power(a)).toEqual({ measured: 1_000, predicted: 0, live: 1 });
  });

  it('takes out a node that goes straight from alive to forgotten (a long pause between sweeps)', () => {
    const { fleet, a } = fleetWithTwo();
    fleet.applyHeartbeat(heartbeat(spec('n2', 'a', 1_000, { seq: 1 })), DETECTOR.forgetAfterMs);
    const swept = fleet.sweep(DETECTOR.forgetAfterMs);
    expect(swept.forgotten).toEqual(['n1']);
    expect(swept.died.map((d) => d.node.nodeId)).toEqual(['n1']);
    expect(power(a)).toEqual({ measured: 1_000, predicted: 0, live: 1 });
  });

  it('counts a dead node again, once, when the same incarnation registers with a newer status', () => {
    const { fleet, a } = fleetWithTwo();
    fleet.sweep(DETECTOR.deadAfterMs);
    expect(power(a)).toEqual({ measured: 0, predicted: 0, live: 0 });
    expect(fleet.applyHeartbeat(heartbeat(spec('n1', 'a', 2_000, { seq: 1 })), 6_000)).toBe('unknown-node');
    fleet.register(registration(spec('n1', 'a', 1_800, { seq: 2 })), 6_000);
    expect(power(a)).toEqual({ measured: 1_800, predicted: 0, live: 1 });
  });

  it('replaces a node’s draw when a new incarnation registers', () => {
    const { fleet, a } = fleetWithTwo();
    fleet.register(registration(spec('n1', 'a', 500, { incarnation: 'inc-2' })), 100);
    expect(power(a)).toEqual({ measured: 1_500, predicted: 50, live: 2 });
  });

  it('replaces a dead node’s incarnation without taking its draw out twice', () => {
    const { fleet, a } = fleetWithTwo();
    fleet.applyHeartbeat(heartbeat(spec('n2', 'a', 1_000, { seq: 1 })), DETECTOR.deadAfterMs);
    fleet.sweep(DETECTOR.deadAfterMs);
    fleet.register(registration(spec('n1', 'a', 500, { incarnation: 'inc-2' })), 6_000);
    // n2's heartbeat already measured its placement.
    expect(power(a)).toEqual({ measured: 1_500, predicted: 0, live: 2 });
  });

  it('takes out a node that deregisters, and ignores a goodbye from another incarnation', () => {
    const { fleet, a } = fleetWithTwo();
    expect(fleet.deregister('n1', 'other')).toBeUndefined();
    expect(power(a)).toEqual({ measured: 3_000, predicted: 350, live: 2 });
    expect(fleet.deregister('n1', 'inc-1')?.map((r) => r.requestId)).toEqual(['r1']);
    expect(power(a)).toEqual({ measured: 1_000, predicted: 50, live: 1 });
  });
});

describe('reports that cannot be true', () => {
  // h100 × 8: 5,600 W limit by default, 700 W peak per chip, 640 GB of HBM.
  const HBM = 8 * 80e9;
  const cases: { name: string; status: NodeSpec; anomaly: RegExp | undefined }[] = [
    { name: 'a plausible report', status: { powerDrawWatts: 5_000 }, anomaly: undefined },
    { name: 'draw at 1.1 × its limit (sensor noise)', status: { powerDrawWatts: 6_160 }, anomaly: undefined },
    { name: 'draw above 1.1 × its limit', status: { powerDrawWatts: 6_200 }, anomaly: /6200 W above its 5600 W/ },
    {
      name: 'draw far above a lowered limit',
      status: { powerDrawWatts: 3_000, powerLimitWatts: 2_000 },
      anomaly: /3000 W above its 2000 W/,
    },
    {
      name: 'no limit, draw at twice the peak',
      status: { powerDrawWatts: 11_200, powerLimitWatts: 0 },
      anomaly: undefined,
    },
    {
      name: 'no limit, draw over twice the peak',
      status: { powerDrawWatts: 11_300, powerLimitWatts: 0 },
      anomaly: /over twice its hardware peak of 5600 W/,
    },
    { name: 'HBM all used', status: { hbmTotalBytes: HBM, hbmUsedBytes: HBM }, anomaly: undefined },
    { name: 'more HBM used than it has', status: { hbmTotalBytes: HBM, hbmUsedBytes: HBM + 1 }, anomaly: /HBM used/ },
  ];

  it.each(cases)('$name', ({ status, anomaly }) => {
    const { fleet } = newFleet();
    fleet.register(registration(spec('n1', 'a', 1_000)), 0);
    fleet.applyHeartbeat(heartbeat({ ...spec('n1', 'a', 1_000), seq: 1, ...status }), 1_000);
    const node = fleet.get('n1')!;
    expect(node.anomaly ?? '').toMatch(anomaly ?? /^$/);
    expect(node.schedulable).toBe(anomaly === undefined);
  });

  it('flags a registration too, and trusts the node again once it reports sensibly', () => {
    const { fleet } = newFleet();
    fleet.register(registration(spec('n1', 'a', 9_000)), 0);
    expect(fleet.get('n1')!.schedulable).toBe(false);
    fleet.applyHeartbeat(heartbeat(spec('n1', 'a', 4_000, { seq: 1 })), 1_000);
    expect(fleet.get('n1')!.anomaly).toBeUndefined();
    expect(fleet.get('n1')!.schedulable).toBe(true);
  });
});

/** One step of a random history of the fleet. */
type Op =
  | { kind: 'register'; node: number; cluster: string; drawWatts: number; newIncarnation: boolean }
  | { kind: 'heartbeat'; node: number; cluster: string; drawWatts: number }
  | { kind: 'assume'; node: number; deltaWatts: number }
  | { kind: 'release'; pick: number }
  | { kind: 'sweep'; advanceMs: number }
  | { kind: 'deregister'; node: number };

const NODE = fc.integer({ min: 0, max: 5 });
const CLUSTER = fc.constantFrom('a', 'b', 'unlisted');
const DRAW = fc.integer({ min: 0, max: 5_600 });
const OP: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('register' as const),
    node: NODE,
    cluster: CLUSTER,
    drawWatts: DRAW,
    newIncarnation: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('heartbeat' as const), node: NODE, cluster: CLUSTER, drawWatts: DRAW }),
  fc.record({ kind: fc.constant('assume' as const), node: NODE, deltaWatts: fc.integer({ min: 0, max: 2_000 }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('sweep' as const), advanceMs: fc.constantFrom(500, 3_000, 5_000, 20_000, 60_000) }),
  fc.record({ kind: fc.constant('deregister' as const), node: NODE }),
);

describe('cluster power sums over random histories', () => {
  it('always equal the draw and predicted watts of each cluster’s live nodes', () => {
    fc.assert(
      fc.property(fc.array(OP, { minLength: 1, maxLength: 60 }), (ops) => {
        const { fleet, topology } = newFleet();
        const seq = new Map<string, number>();
        const incarnation = new Map<string, number>();
        const open: string[] = [];
        let nowMs = 0;
        let requests = 0;
        const next = (id: string): number => {
          const s = (seq.get(id) ?? 0) + 1;
          seq.set(id, s);
          return s;
        };
        for (const op of ops) {
          const id = 'node' in op ? `n${op.node}` : '';
          const inc = `inc-${incarnation.get(id) ?? 0}`;
          switch (op.kind) {
            case 'register': {
              if (op.newIncarnation) incarnation.set(id, (incarnation.get(id) ?? 0) + 1);
              const body = spec(id, op.cluster, op.drawWatts, {
                seq: next(id),
                incarnation: `inc-${incarnation.get(id) ?? 0}`,
              });
              fleet.register(registration(body), nowMs);
              break;
            }
            case 'heartbeat':
              fleet.applyHeartbeat(
                heartbeat(spec(id, op.cluster, op.drawWatts, { seq: next(id), incarnation: inc })),
                nowMs,
              );
              break;
            case 'assume': {
              // The service only places on nodes it believes alive.
              const node = fleet.get(id);
              if (node === undefined || node.liveness === 'dead') break;
              const requestId = `r${requests++}`;
              fleet.assume(reservation(requestId, id, { powerDeltaWatts: op.deltaWatts }));
              open.push(requestId);
              break;
            }
            case 'release':
              if (open.length > 0) fleet.release(open.splice(op.pick % open.length, 1)[0]!);
              break;
            case 'sweep':
              nowMs += op.advanceMs;
              fleet.sweep(nowMs);
              break;
            case 'deregister':
              fleet.deregister(id, inc);
              break;
          }
          for (const cluster of topology.all()) {
            const members = fleet.nodes.filter((n) => n.liveness !== 'dead' && n.cluster === cluster.name);
            expect(power(cluster)).toEqual({
              measured: members.reduce((sum, n) => sum + n.powerDrawWatts, 0),
              predicted: members.reduce((sum, n) => sum + n.assumedPowerWatts, 0),
              live: members.length,
            });
          }
          for (const node of fleet.nodes) expect(node.clusterState).toBe(topology.find(node.cluster));
        }
      }),
      { numRuns: 200, seed: 20_261_123 },
    );
  });
});
