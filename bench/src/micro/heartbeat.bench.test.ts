import { Heartbeat, decode, nodeIdFromAgentSubject } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { buildFleetFixture } from './fleet-fixture.js';
import { HEARTBEAT_SUITE, HeartbeatStream, planHeartbeatSuite } from './heartbeat.bench.js';

function decoded(bytes: Uint8Array): Heartbeat {
  const result = decode(Heartbeat, bytes);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('HeartbeatStream', () => {
  const fixture = buildFleetFixture({ nodes: 50, seed: 5 });
  const stream = new HeartbeatStream(fixture, 3, 6);
  const bodies = stream.messages.map(decoded);

  it('sends every node once per round, on its own subject', () => {
    expect(stream.size).toBe(150);
    for (let round = 0; round < 3; round++) {
      const ids = bodies.slice(round * 50, (round + 1) * 50).map((b) => b.nodeId);
      expect(new Set(ids)).toEqual(new Set(fixture.nodes.map((n) => n.nodeId)));
    }
    expect(stream.subjects.map((s) => nodeIdFromAgentSubject(s))).toEqual(bodies.map((b) => b.nodeId));
  });

  // An honest ingest figure needs varied heartbeats: the same bytes again would let the fleet view
  // and the placement index skip their work (nothing moved).
  it('varies load between rounds and shuffles the order', () => {
    const firstRound = bodies.slice(0, 50).map((b) => b.nodeId);
    const secondRound = bodies.slice(50, 100).map((b) => b.nodeId);
    expect(secondRound).not.toEqual(firstRound);
    const loadOf = (round: number): Map<string, number> =>
      new Map(bodies.slice(round * 50, (round + 1) * 50).map((b) => [b.nodeId, b.inFlight + b.queueDepth]));
    const [a, b] = [loadOf(0), loadOf(1)];
    const moved = [...a].filter(([id, load]) => b.get(id) !== load).length;
    expect(moved).toBeGreaterThan(25);
  });
});

describe('heartbeat suite, ingest case', () => {
  it('applies every heartbeat it times, and leaves the fleet view as the last heartbeats said', () => {
    const plan = planHeartbeatSuite({ seed: 2, nodeCounts: [40], filter: `${HEARTBEAT_SUITE}: decode + apply` });
    const ingest = plan.cases.find((c) => c.name.startsWith('decode + applyHeartbeat'));
    expect(plan.cases).toHaveLength(1);
    if (ingest === undefined) return;
    // Past the end of the pre-encoded rounds, so the stream is replayed with newer sequence numbers.
    for (let i = 0; i < 40 * 4 * 2 + 17; i++) {
      ingest.beforeEach?.();
      ingest.fn();
    }
    expect(plan.afterRun?.()).toMatchObject({ ingestNotApplied: 0, applied: 40 * 4 * 2 + 17 });
  });

  it('keeps each cluster’s measured power equal to the sum its live nodes last reported', () => {
    const fixture = buildFleetFixture({ nodes: 60, seed: 8 });
    const stream = new HeartbeatStream(fixture, 2, 9);
    for (const bytes of stream.messages) {
      expect(fixture.fleet.applyHeartbeat(decoded(bytes), fixture.nowMs + 500)).toBe('applied');
    }
    const last = new Map(stream.messages.slice(60).map((bytes) => [decoded(bytes).nodeId, decoded(bytes)]));
    const sums = new Map<string, number>();
    for (const node of fixture.fleet.nodes) {
      const heartbeat = last.get(node.nodeId);
      expect(heartbeat).toBeDefined();
      expect([node.queueDepth, node.inFlight, node.hbmUsedBytes, node.powerDrawWatts]).toEqual([
        heartbeat?.queueDepth,
        heartbeat?.inFlight,
        heartbeat?.accelerator.hbmUsedBytes,
        heartbeat?.powerDrawWatts,
      ]);
      sums.set(node.cluster, (sums.get(node.cluster) ?? 0) + node.powerDrawWatts);
    }
    for (const [cluster, watts] of sums) {
      expect(fixture.fleet.topology.cluster(cluster).measuredWatts).toBeCloseTo(watts, 6);
    }
  });
});
