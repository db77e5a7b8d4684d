import { createRng, getProfile } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { heartbeat, registration, reservation } from '../test-fixtures.js';
import type { FailureDetectorConfig } from './failure-detector.js';
import { FleetView } from './fleet-view.js';

const DETECTOR: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };

function newFleet(): FleetView {
  return new FleetView(getProfile, DETECTOR);
}

/** Every node is where its index says, is found by id, and the ids are exactly `expected`. */
function expectConsistent(fleet: FleetView, expected: readonly string[]): void {
  expect(fleet.size).toBe(expected.length);
  fleet.nodes.forEach((node, i) => {
    expect(node.index).toBe(i);
    expect(fleet.get(node.nodeId)).toBe(node);
  });
  expect(fleet.nodes.map((n) => n.nodeId).toSorted()).toEqual([...expected].toSorted());
}

describe('FleetView.register', () => {
  it('adds a node with a known profile and copies its status', () => {
    const fleet = newFleet();
    const outcome = fleet.register(
      registration({ nodeId: 'a', profile: 'l4', loaded: ['llama-3.1-8b'], queueDepth: 2 }),
      100,
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.lost).toEqual([]);
    expect(outcome.node.profileName).toBe('l4');
    expect(outcome.node.loadedModels.has('llama-3.1-8b')).toBe(true);
    expect(outcome.node.queueDepth).toBe(2);
    expect(outcome.node.lastHeartbeatMs).toBe(100);
    expect(outcome.node.schedulable).toBe(true);
    expectConsistent(fleet, ['a']);
  });

  it('refuses an unknown profile with UNKNOWN_PROFILE and a message naming it', () => {
    const fleet = newFleet();
    const outcome = fleet.register(registration({ nodeId: 'a', profile: 'tpu-v9' }), 0);
    expect(outcome).toMatchObject({ ok: false, code: 'UNKNOWN_PROFILE' });
    if (outcome.ok) return;
    expect(outcome.message).toContain('"tpu-v9"');
    expect(fleet.size).toBe(0);
  });

  it('keeps reservations when the same incarnation registers again', () => {
    const fleet = newFleet();
    const first = fleet.register(registration({ nodeId: 'a', seq: 0 }), 0);
    fleet.assume(reservation('r1', 'a', { kvBytes: 500 }));
    const again = fleet.register(registration({ nodeId: 'a', seq: 3, queueDepth: 7 }), 50);
    expect(again.ok && first.ok && again.node === first.node).toBe(true);
    if (!again.ok) return;
    expect(again.lost).toEqual([]);
    expect(again.node.queueDepth).toBe(7);
    expect(again.node.reservedKvBytes).toBe(500);
    expect(fleet.reservation('r1')).toBeDefined();
    expectConsistent(fleet, ['a']);
  });

  it('replaces a node on a new incarnation, hands back its reservations and keeps the operator state', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a', incarnation: 'old' }), 0);
    fleet.register(registration({ nodeId: 'b' }), 0);
    fleet.assume(reservation('r1', 'a'));
    fleet.assume(reservation('r2', 'a'));
    fleet.assume(reservation('r3', 'b'));
    fleet.setOperatorState('a', 'cordoned');
    const outcome = fleet.register(registration({ nodeId: 'a', incarnation: 'new' }), 10);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.lost.map((r) => r.requestId).toSorted()).toEqual(['r1', 'r2']);
    expect(outcome.node.incarnation).toBe('new');
    expect(outcome.node.operatorState).toBe('cordoned');
    expect(outcome.node.reservations.size).toBe(0);
    expect(outcome.node.reservedKvBytes).toBe(0);
    expect(fleet.reservation('r1')).toBeUndefined();
    expect(fleet.openReservations).toBe(1);
    expectConsistent(fleet, ['a', 'b']);
  });
});

describe('FleetView.applyHeartbeat', () => {
  const cases: {
    name: string;
    beat: Parameters<typeof heartbeat>[0];
    before?: (f: FleetView) => void;
    outcome: string;
  }[] = [
    { name: 'newer seq', beat: { nodeId: 'a', seq: 5 }, outcome: 'applied' },
    { name: 'equal seq', beat: { nodeId: 'a', seq: 2 }, outcome: 'stale' },
    { name: 'older seq', beat: { nodeId: 'a', seq: 1 }, outcome: 'stale' },
    { name: 'unknown node id', beat: { nodeId: 'zz', seq: 5 }, outcome: 'unknown-node' },
    { name: 'other incarnation', beat: { nodeId: 'a', incarnation: 'other', seq: 5 }, outcome: 'unknown-node' },
    {
      name: 'dead node',
      beat: { nodeId: 'a', seq: 5 },
      before: (f) => f.sweep(DETECTOR.deadAfterMs),
      outcome: 'unknown-node',
    },
    {
      name: 'suspect node',
      beat: { nodeId: 'a', seq: 5 },
      before: (f) => f.sweep(DETECTOR.suspectAfterMs),
      outcome: 'applied',
    },
  ];

  it.each(cases)('$name → $outcome', ({ beat, before, outcome }) => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a', seq: 2, queueDepth: 1 }), 0);
    before?.(fleet);
    const node = fleet.get('a')!;
    const livenessBefore = node.liveness;
    expect(fleet.applyHeartbeat(heartbeat({ ...beat, queueDepth: 9 }), 4_000)).toBe(outcome);
    const after =
      outcome === 'applied'
        ? { queueDepth: 9, lastSeq: beat?.seq, lastHeartbeatMs: 4_000, liveness: 'alive' }
        : { queueDepth: 1, lastSeq: 2, lastHeartbeatMs: 0, liveness: livenessBefore };
    expect(node).toMatchObject(after);
  });

  it('updates the loaded-model set when models change', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a', loading: ['llama-3.1-8b'] }), 0);
    expect(fleet.get('a')!.loadedModels.has('llama-3.1-8b')).toBe(false);
    fleet.applyHeartbeat(heartbeat({ nodeId: 'a', seq: 1, loaded: ['llama-3.1-8b'] }), 10);
    expect(fleet.get('a')!.loadedModels.has('llama-3.1-8b')).toBe(true);
  });
});

describe('FleetView.sweep', () => {
  it('moves a silent node alive → suspect → dead → forgotten, handing back reservations on death', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a' }), 0);
    fleet.register(registration({ nodeId: 'b' }), 0);
    fleet.assume(reservation('r1', 'a', { kvBytes: 10, predictedServiceMs: 5 }));
    const node = fleet.get('a')!;
    const keepB = (now: number, seq: number) => fleet.applyHeartbeat(heartbeat({ nodeId: 'b', seq }), now);

    keepB(2_000, 1);
    expect(fleet.sweep(DETECTOR.suspectAfterMs - 1)).toEqual({ suspected: [], died: [], forgotten: [] });
    expect(node.liveness).toBe('alive');

    const suspect = fleet.sweep(DETECTOR.suspectAfterMs);
    expect(suspect.suspected).toEqual([node]);
    expect(node.liveness).toBe('suspect');
    expect(node.schedulable).toBe(false);
    expect(fleet.sweep(DETECTOR.suspectAfterMs + 500).suspected).toEqual([]);

    keepB(4_500, 2);
    const death = fleet.sweep(DETECTOR.deadAfterMs);
    expect(death.died).toHaveLength(1);
    expect(death.died[0]!.node).toBe(node);
    expect(death.died[0]!.lost.map((r) => r.requestId)).toEqual(['r1']);
    expect(node).toMatchObject({ liveness: 'dead', reservedKvBytes: 0, reservedServiceMs: 0 });
    expect(fleet.openReservations).toBe(0);
    expect(fleet.release('r1')).toBeUndefined();
    expect(fleet.sweep(DETECTOR.deadAfterMs + 1_000).died).toEqual([]);
    expectConsistent(fleet, ['a', 'b']);

    keepB(DETECTOR.forgetAfterMs - 1, 3);
    const forget = fleet.sweep(DETECTOR.forgetAfterMs);
    expect(forget.forgotten).toEqual(['a']);
    expect(fleet.get('a')).toBeUndefined();
    expect(node.index).toBe(-1);
    expectConsistent(fleet, ['b']);
  });

  it('declares a node dead straight from alive when the gap is long enough', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a' }), 0);
    const result = fleet.sweep(DETECTOR.deadAfterMs + 10);
    expect(result.suspected).toEqual([]);
    expect(result.died.map((d) => d.node.nodeId)).toEqual(['a']);
  });

  it.each<{ name: string; detector: FailureDetectorConfig; sweepAtMs: number }>([
    {
      name: 'forget equal to dead (a valid config)',
      detector: { ...DETECTOR, forgetAfterMs: DETECTOR.deadAfterMs },
      sweepAtMs: 5_000,
    },
    { name: 'no sweep between death and forgetting (a long pause)', detector: DETECTOR, sweepAtMs: 60_000 },
  ])('hands back the work of a node forgotten before it was declared dead: $name', ({ detector, sweepAtMs }) => {
    const fleet = new FleetView(getProfile, detector);
    fleet.register(registration({ nodeId: 'a' }), 0);
    fleet.assume(reservation('r1', 'a'));
    const result = fleet.sweep(sweepAtMs);
    expect(result.forgotten).toEqual(['a']);
    // Otherwise r1 vanishes: nobody re-places or fails it until its deadline.
    expect(result.died.flatMap((d) => d.lost.map((r) => r.requestId))).toEqual(['r1']);
  });

  it('forgets many nodes in one sweep and keeps the dense array consistent', () => {
    const fleet = newFleet();
    const ids = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    ids.forEach((nodeId, i) => fleet.register(registration({ nodeId }), i % 2 === 0 ? 0 : 30_000));
    const result = fleet.sweep(DETECTOR.forgetAfterMs);
    expect(result.forgotten.toSorted()).toEqual(['n0', 'n2', 'n4', 'n6']);
    expectConsistent(fleet, ['n1', 'n3', 'n5']);
  });
});

describe('FleetView dense array', () => {
  it('stays consistent under random registrations, re-incarnations and goodbyes (swap-remove)', () => {
    const rng = createRng(7);
    const fleet = newFleet();
    const present = new Map<string, string>(); // nodeId → incarnation
    const failures: string[] = [];
    for (let step = 0; step < 2_000; step++) {
      const nodeId = `n${Math.floor(rng() * 40)}`;
      const incarnation = present.get(nodeId);
      if (incarnation !== undefined && rng() < 0.5) {
        if (fleet.deregister(nodeId, incarnation)?.length !== 0)
          failures.push(`step ${step}: goodbye of ${nodeId} ignored`);
        present.delete(nodeId);
      } else {
        const next = `i${step}`;
        if (!fleet.register(registration({ nodeId, incarnation: next }), step).ok)
          failures.push(`step ${step}: register failed`);
        present.set(nodeId, next);
      }
      if (step % 50 === 0) expectConsistent(fleet, [...present.keys()]);
    }
    expect(failures).toEqual([]);
    expectConsistent(fleet, [...present.keys()]);
  });
});

function fleetWithNode(queueDepth: number, inFlight: number): FleetView {
  const fleet = newFleet();
  fleet.register(registration({ nodeId: 'a', queueDepth, inFlight }), 0);
  return fleet;
}

describe('FleetView reservations (assume, confirm, release)', () => {
  it('adds and removes kv bytes and service time', () => {
    const fleet = fleetWithNode(0, 0);
    const node = fleet.get('a')!;
    fleet.assume(reservation('r1', 'a', { kvBytes: 100, predictedServiceMs: 50 }));
    fleet.assume(reservation('r2', 'a', { kvBytes: 200, predictedServiceMs: 30 }));
    expect(node).toMatchObject({ reservedKvBytes: 300, reservedServiceMs: 80 });
    expect(fleet.openReservations).toBe(2);

    expect(fleet.confirm('r1', 42)?.confirmedAtMs).toBe(42);
    expect(fleet.confirm('nope', 42)).toBeUndefined();

    expect(fleet.release('r1')?.requestId).toBe('r1');
    expect(node).toMatchObject({ reservedKvBytes: 200, reservedServiceMs: 30 });
    expect(fleet.release('r1')).toBeUndefined();
    expect(node).toMatchObject({ reservedKvBytes: 200, reservedServiceMs: 30 });
    expect(fleet.confirm('r1', 50)).toBeUndefined();
    fleet.release('r2');
    expect(node).toMatchObject({ reservedKvBytes: 0, reservedServiceMs: 0 });
    expect(node.reservations.size).toBe(0);
    expect(fleet.openReservations).toBe(0);
  });

  it.each([
    { queueDepth: 0, inFlight: 0, reservations: 0, load: 0 },
    { queueDepth: 0, inFlight: 0, reservations: 3, load: 3 },
    { queueDepth: 1, inFlight: 1, reservations: 3, load: 3 },
    { queueDepth: 4, inFlight: 2, reservations: 3, load: 6 },
    { queueDepth: 2, inFlight: 1, reservations: 3, load: 3 },
  ])(
    'load = max($queueDepth + $inFlight reported, $reservations reserved) = $load',
    ({ queueDepth, inFlight, reservations, load }) => {
      const fleet = fleetWithNode(queueDepth, inFlight);
      for (let i = 0; i < reservations; i++) fleet.assume(reservation(`r${i}`, 'a'));
      expect(fleet.get('a')!.load).toBe(load);
    },
  );

  it('counts placements since the last heartbeat, which the next heartbeat absorbs', () => {
    const fleet = fleetWithNode(0, 0);
    const node = fleet.get('a')!;
    fleet.assume(reservation('r1', 'a'));
    fleet.assume(reservation('r2', 'a'));
    fleet.release('r1');
    expect(node.assumedSinceHeartbeat).toBe(2);
    expect(fleet.applyHeartbeat(heartbeat({ nodeId: 'a', seq: 1, queueDepth: 2 }), 10)).toBe('applied');
    expect(node.assumedSinceHeartbeat).toBe(0);
    fleet.applyHeartbeat(heartbeat({ nodeId: 'a', seq: 1 }), 20);
    fleet.assume(reservation('r3', 'a'));
    expect(node.assumedSinceHeartbeat).toBe(1);
  });

  it('throws on an unknown node or a request that already holds a reservation, changing nothing', () => {
    const fleet = fleetWithNode(0, 0);
    fleet.assume(reservation('r1', 'a', { kvBytes: 100 }));
    expect(() => fleet.assume(reservation('r2', 'ghost'))).toThrow(RangeError);
    expect(() => fleet.assume(reservation('r1', 'a', { kvBytes: 999 }))).toThrow(/already holds a reservation/);
    expect(fleet.get('a')!.reservedKvBytes).toBe(100);
    expect(fleet.openReservations).toBe(1);
  });
});

describe('FleetView.deregister and operator state', () => {
  it('ignores a goodbye from another incarnation or an unknown node', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a', incarnation: 'one' }), 0);
    fleet.assume(reservation('r1', 'a'));
    expect(fleet.deregister('a', 'zero')).toBeUndefined();
    expect(fleet.deregister('ghost', 'one')).toBeUndefined();
    expect(fleet.openReservations).toBe(1);
    expectConsistent(fleet, ['a']);
    expect(fleet.deregister('a', 'one')?.map((r) => r.requestId)).toEqual(['r1']);
    expect(fleet.openReservations).toBe(0);
    expectConsistent(fleet, []);
  });

  it('sets operator state and marks suspect only known, alive nodes', () => {
    const fleet = newFleet();
    fleet.register(registration({ nodeId: 'a' }), 0);
    expect(fleet.setOperatorState('ghost', 'cordoned')).toBeUndefined();
    expect(fleet.setOperatorState('a', 'draining')?.schedulable).toBe(false);
    expect(fleet.markSuspect('ghost')).toBe(false);
    expect(fleet.markSuspect('a')).toBe(true);
    expect(fleet.markSuspect('a')).toBe(false);
    expect(fleet.applyHeartbeat(heartbeat({ nodeId: 'a', seq: 1 }), 10)).toBe('applied');
    expect(fleet.get('a')!.liveness).toBe('alive');
  });
});
