import { getProfile } from '@switchyard/fleet-model';
import type { SessionRecord, SloClass } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import type { FailureDetectorConfig } from '../core/fleet/failure-detector.js';
import { FleetView } from '../core/fleet/fleet-view.js';
import { SessionRegistry } from '../core/sessions/session-registry.js';
import { heartbeat, type NodeSpec, registration, reservation } from '../core/test-fixtures.js';
import { Topology } from '../core/topology/topology.js';
import type { ClassQueueStats } from './admission/admission-lane.js';
import { type FleetSnapshot, fleetSnapshot, MAX_SNAPSHOT_NODES, type NodeState } from './fleet-snapshot.js';

const DETECTOR: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };
const NOW_MS = 5_500;
const SECRET_REQUEST_ID = 'req-7f3a-secret';

/** An 8-chip h100 node (5,600 W limit) drawing `powerDrawWatts` in `cluster`. */
function h100(nodeId: string, cluster: string, powerDrawWatts: number, extra: NodeSpec = {}): NodeSpec {
  return {
    nodeId,
    cluster,
    profile: 'h100',
    powerDrawWatts,
    powerLimitWatts: 5_600,
    loaded: ['llama-3.1-8b'],
    ...extra,
  };
}

/**
 * Five clusters, one per power stage plus one the topology does not name, and a node in each
 * state. Every node registers at 0 except `sin-1` (at 2,000); all but `ams-0` and `sin-1` report
 * again at 5,500, so the sweep then finds `ams-0` dead (5.5 s silent) and `sin-1` suspect (3.5 s).
 */
function mixedFleet(): { fleet: FleetView; topology: Topology } {
  const topology = new Topology({
    clusters: [
      { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 20_000, safetyMargin: 0 },
      { name: 'iad', location: 'Ashburn', powerBudgetWatts: 10_000, safetyMargin: 0 },
      { name: 'sin', location: 'Singapore', powerBudgetWatts: 4_000, safetyMargin: 0 },
      { name: 'ams', location: 'Amsterdam', powerBudgetWatts: 8_000, safetyMargin: 0.05 },
    ],
    regions: [],
  });
  const fleet = new FleetView(getProfile, DETECTOR, undefined, topology);
  const specs: { spec: NodeSpec; registeredAtMs: number; reportsAgain: boolean }[] = [
    { spec: h100('fra-0', 'fra', 4_000, { queueDepth: 3, maxBatchSize: 64 }), registeredAtMs: 0, reportsAgain: true },
    { spec: h100('fra-1', 'fra', 4_000), registeredAtMs: 0, reportsAgain: true },
    // Far above its own limit: a broken sensor, counted at most at the node's ceiling (5,600 W).
    { spec: h100('fra-2', 'fra', 9_000), registeredAtMs: 0, reportsAgain: true },
    { spec: h100('iad-0', 'iad', 4_500), registeredAtMs: 0, reportsAgain: true },
    { spec: h100('iad-1', 'iad', 4_400, { state: 'draining' }), registeredAtMs: 0, reportsAgain: true },
    { spec: h100('sin-0', 'sin', 3_000), registeredAtMs: 0, reportsAgain: true },
    { spec: h100('sin-1', 'sin', 1_000), registeredAtMs: 2_000, reportsAgain: false },
    { spec: h100('ams-0', 'ams', 2_000), registeredAtMs: 0, reportsAgain: false },
    {
      spec: { nodeId: 'lab-0', cluster: 'lab', profile: 'l4', powerDrawWatts: 50, loading: ['llama-3.1-8b'] },
      registeredAtMs: 0,
      reportsAgain: true,
    },
  ];
  for (const { spec, registeredAtMs } of specs) {
    const outcome = fleet.register(registration(spec), registeredAtMs);
    if (!outcome.ok) throw new Error(outcome.message);
  }
  for (const { spec, reportsAgain } of specs) {
    if (reportsAgain && fleet.applyHeartbeat(heartbeat({ ...spec, seq: 1 }), NOW_MS) !== 'applied') {
      throw new Error(`heartbeat of ${spec.nodeId} not applied`);
    }
  }
  fleet.sweep(NOW_MS);
  fleet.setOperatorState('fra-1', 'cordoned');
  fleet.assume(reservation(SECRET_REQUEST_ID, 'fra-0', { powerDeltaWatts: 300 }));
  // The power controller holds ams's limits down (it sets this flag while it caps).
  topology.find('ams')!.capping = true;
  return { fleet, topology };
}

function session(sessionId: string, state: SessionRecord['state'], ownerNodeId: string | null): SessionRecord {
  return {
    v: 1,
    sessionId,
    tenant: 'acme',
    model: 'llama-3.1-8b',
    state,
    ownerNodeId,
    contextTokens: 100,
    expectedContextTokens: 4_096,
    turns: 1,
    createdAtMs: 1_000,
    turnSubject: `sy.v1.tenant.acme.session.${sessionId}.turn`,
  };
}

function sessions(): SessionRegistry {
  const registry = new SessionRegistry();
  registry.put(session('sess-live-secret', 'open', 'fra-0'), 1);
  registry.put(session('sess-orphan-secret', 'open', 'ams-0'), 1);
  registry.put(session('sess-moving-secret', 'migrating', null), 1);
  registry.put(session('sess-closed-secret', 'closed', 'fra-0'), 1);
  return registry;
}

const QUEUE_STATS: Record<SloClass, ClassQueueStats> = {
  interactive: queueStats(2, 1, 5, 512),
  standard: queueStats(0, 4, 7, 1_024),
  batch: queueStats(9, 0, 1, 4_096),
};

function queueStats(queued: number, waitingForCapacity: number, placed: number, maxQueued: number): ClassQueueStats {
  return {
    queued,
    waitingForCapacity,
    placed,
    concurrency: 64,
    maxQueued,
    oldestWaitMs: 120.4,
    meanWaitMs: 30,
    drainPerSecond: 4,
  };
}

/** Node counts with the given states, zero elsewhere. */
function counts(states: Partial<Record<NodeState, number>>): Record<NodeState, number> {
  return { dead: 0, suspect: 0, anomalous: 0, draining: 0, cordoned: 0, ready: 0, ...states };
}

function leaderSnapshot(): FleetSnapshot {
  const { fleet } = mixedFleet();
  return fleetSnapshot(
    { schedulerId: 'sched-a', isLeader: true, fleet, sessions: sessions(), queues: (c) => QUEUE_STATS[c] },
    NOW_MS,
  );
}

describe('fleetSnapshot', () => {
  it('shows each cluster’s budget, draw and power stage, and its nodes by state', () => {
    expect(leaderSnapshot().clusters).toEqual([
      {
        name: 'ams',
        location: 'Amsterdam',
        budgetWatts: 8_000,
        usableWatts: 7_600,
        // Its only node is dead: a dead node's draw no longer counts.
        measuredWatts: 0,
        committedWatts: 0,
        stage: 'cap',
        nodes: counts({ dead: 1 }),
        nodesTotal: 1,
      },
      {
        name: 'fra',
        location: 'Frankfurt',
        budgetWatts: 20_000,
        usableWatts: 20_000,
        measuredWatts: 4_000 + 4_000 + 5_600,
        committedWatts: 4_000 + 4_000 + 5_600 + 300,
        stage: 'normal',
        nodes: counts({ ready: 1, cordoned: 1, anomalous: 1 }),
        nodesTotal: 3,
      },
      {
        name: 'iad',
        location: 'Ashburn',
        budgetWatts: 10_000,
        usableWatts: 10_000,
        measuredWatts: 8_900, // ≥ 85 % of usable: steer
        committedWatts: 8_900,
        stage: 'steer',
        nodes: counts({ ready: 1, draining: 1 }),
        nodesTotal: 2,
      },
      {
        name: 'lab',
        location: '',
        budgetWatts: null,
        usableWatts: null,
        measuredWatts: 50,
        committedWatts: 50,
        stage: 'normal',
        nodes: counts({ ready: 1 }),
        nodesTotal: 1,
      },
      {
        name: 'sin',
        location: 'Singapore',
        budgetWatts: 4_000,
        usableWatts: 4_000,
        measuredWatts: 4_000, // a suspect node still draws: ≥ 95 % of usable, defer
        committedWatts: 4_000,
        stage: 'defer',
        nodes: counts({ ready: 1, suspect: 1 }),
        nodesTotal: 2,
      },
    ]);
  });

  it('lists every node by cluster and id with its state and figures', () => {
    const snapshot = leaderSnapshot();
    expect(snapshot).toMatchObject({ v: 1, schedulerId: 'sched-a', leader: true, atMs: NOW_MS, nodesTotal: 9 });
    expect(snapshot.nodes.map((n) => [n.nodeId, n.cluster, n.state])).toEqual([
      ['ams-0', 'ams', 'dead'],
      ['fra-0', 'fra', 'ready'],
      ['fra-1', 'fra', 'cordoned'],
      ['fra-2', 'fra', 'anomalous'],
      ['iad-0', 'iad', 'ready'],
      ['iad-1', 'iad', 'draining'],
      ['lab-0', 'lab', 'ready'],
      ['sin-0', 'sin', 'ready'],
      ['sin-1', 'sin', 'suspect'],
    ]);
    const byId = new Map(snapshot.nodes.map((n) => [n.nodeId, n]));
    const hbmTotalBytes = 8 * getProfile('h100')!.hbmBytesPerChip;
    expect(byId.get('fra-0')).toEqual({
      nodeId: 'fra-0',
      cluster: 'fra',
      zone: 'zone-a1',
      profile: 'h100',
      chips: 8,
      state: 'ready',
      anomaly: null,
      // Reported 3 queued; the scheduler's own open placement does not exceed that.
      load: 3,
      maxBatchSize: 64,
      queueDepth: 3,
      utilization: 0,
      powerDrawWatts: 4_000,
      powerLimitWatts: 5_600,
      hbmUsedBytes: byId.get('fra-0')!.hbmUsedBytes,
      hbmTotalBytes,
      models: ['llama-3.1-8b'],
      loadingModels: [],
      heartbeatAgeMs: 0,
      host: null,
    });
    expect(byId.get('fra-0')!.hbmUsedBytes).toBeGreaterThan(0);
    expect(byId.get('fra-2')!.anomaly).toMatch(/9000 W above its 5600 W power limit/);
    expect(byId.get('sin-1')!.heartbeatAgeMs).toBe(3_500);
    expect(byId.get('lab-0')).toMatchObject({ profile: 'l4', models: [], loadingModels: ['llama-3.1-8b'] });
  });

  it('counts sessions by state and those waiting for a live owner, and shows the class queues', () => {
    const snapshot = leaderSnapshot();
    expect(snapshot.sessions).toEqual({
      total: 4,
      byState: { open: 2, migrating: 1, closed: 1 },
      withoutLiveOwner: 2, // one owned by the dead ams-0, one between owners
    });
    expect(snapshot.queues).toEqual([
      {
        sloClass: 'interactive',
        queued: 2,
        waitingForCapacity: 1,
        placed: 5,
        concurrency: 64,
        maxQueued: 512,
        oldestWaitMs: 120,
      },
      {
        sloClass: 'standard',
        queued: 0,
        waitingForCapacity: 4,
        placed: 7,
        concurrency: 64,
        maxQueued: 1_024,
        oldestWaitMs: 120,
      },
      {
        sloClass: 'batch',
        queued: 9,
        waitingForCapacity: 0,
        placed: 1,
        concurrency: 64,
        maxQueued: 4_096,
        oldestWaitMs: 120,
      },
    ]);
  });

  it('says standby and shows no queues on a scheduler that does not lead', () => {
    const { fleet } = mixedFleet();
    const snapshot = fleetSnapshot(
      { schedulerId: 'sched-b', isLeader: false, fleet, sessions: new SessionRegistry(), queues: undefined },
      NOW_MS,
    );
    expect(snapshot).toMatchObject({ schedulerId: 'sched-b', leader: false, queues: null });
    expect(snapshot.sessions).toEqual({ total: 0, byState: { open: 0, migrating: 0, closed: 0 }, withoutLiveOwner: 0 });
  });

  it('survives a JSON round trip unchanged and carries no request or session ids', () => {
    const snapshot = leaderSnapshot();
    const text = JSON.stringify(snapshot);
    expect(JSON.parse(text)).toEqual(snapshot);
    expect(text).not.toContain(SECRET_REQUEST_ID);
    expect(text).not.toContain('secret');
  });

  it(`lists at most ${MAX_SNAPSHOT_NODES} nodes, never leaving out one that is not ready`, () => {
    const topology = new Topology();
    const fleet = new FleetView(getProfile, DETECTOR, undefined, topology);
    const total = MAX_SNAPSHOT_NODES + 100;
    const cordoned = new Set<string>();
    for (let i = 0; i < total; i++) {
      const nodeId = `n${String(i).padStart(4, '0')}`;
      fleet.register(registration({ nodeId, cluster: 'big', profile: 'l4' }), 0);
      // The highest ids: a cap by id alone would drop them.
      if (i >= total - 150) {
        fleet.setOperatorState(nodeId, 'cordoned');
        cordoned.add(nodeId);
      }
    }
    const snapshot = fleetSnapshot(
      { schedulerId: 's', isLeader: true, fleet, sessions: new SessionRegistry(), queues: undefined },
      0,
    );
    expect(snapshot.nodesTotal).toBe(total);
    expect(snapshot.nodes).toHaveLength(MAX_SNAPSHOT_NODES);
    const listed = snapshot.nodes.map((n) => n.nodeId);
    expect(listed).toEqual([...listed].sort());
    expect(snapshot.nodes.filter((n) => n.state === 'cordoned').map((n) => n.nodeId)).toEqual([...cordoned]);
    // Cluster counts cover every node, listed or not.
    expect(snapshot.clusters).toHaveLength(1);
    expect(snapshot.clusters[0]).toMatchObject({ name: 'big', nodesTotal: total });
    expect(snapshot.clusters[0]!.nodes).toMatchObject({ ready: total - 150, cordoned: 150 });
  });
});
