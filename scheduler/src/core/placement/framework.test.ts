import { createRng, getProfile } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import type { Liveness, OperatorState } from '../fleet/node-record.js';
import { type NodeSpec, nodeRecord, placementRequest, registration } from '../test-fixtures.js';
import { Topology } from '../topology/topology.js';
import { PlacementIndex } from './placement-index.js';
import { BUILTIN_PLUGINS, buildPlacement, LATENCY_PLACEMENT_CONFIG, type PluginRegistry } from './registry.js';
import type { PlacementContext, PlacementDecision, PlacementRequest, PlacementSnapshot, Scorer } from './types.js';

const SMALL = 'llama-3.1-8b';
const placement = buildPlacement(LATENCY_PLACEMENT_CONFIG);

/** A node spec plus what only the scheduler knows about it. */
type Setup = NodeSpec & { readonly liveness?: Liveness; readonly operatorState?: OperatorState };

function fleetOf(...setups: Setup[]): PlacementSnapshot {
  return {
    nodes: setups.map((setup, i) => {
      const node = nodeRecord({ nodeId: `n${i}`, ...setup });
      if (setup.liveness !== undefined) node.liveness = setup.liveness;
      if (setup.operatorState !== undefined) node.operatorState = setup.operatorState;
      return node;
    }),
  };
}

function context(seed = 1, explain = false): PlacementContext {
  return { nowMs: 0, rng: createRng(seed), explain };
}

function pickedId(decision: PlacementDecision): string {
  if (!decision.ok) throw new Error(`expected a placement, got ${decision.code}: ${decision.message}`);
  return decision.node.nodeId;
}

// Batch sizes are pinned so that the queue arithmetic below does not follow profile tuning.
const h100: Setup = { profile: 'h100', loaded: [SMALL], maxBatchSize: 2048 };
const l4: Setup = { profile: 'l4', loaded: [SMALL], maxBatchSize: 256 };
const fullHbm = (total: number): Setup => ({ hbmTotalBytes: total, hbmUsedBytes: total - 100e6 });

describe('PlacementFramework with the default config: picks', () => {
  const cases: {
    name: string;
    nodes: Setup[];
    request?: PlacementRequest;
    picks: string;
    rejected?: Record<string, string>;
  }[] = [
    {
      name: 'the node with the model loaded over a cold one',
      nodes: [
        { profile: 'h100', nodeId: 'cold' },
        { ...h100, nodeId: 'warm' },
      ],
      picks: 'warm',
    },
    {
      name: 'the faster profile when both are idle',
      nodes: [
        { ...l4, nodeId: 'l4' },
        { ...h100, nodeId: 'h100' },
      ],
      picks: 'h100',
    },
    {
      name: 'an idle node over one whose batch is full and queue grows',
      nodes: [
        { ...l4, nodeId: 'busy', inFlight: 256, queueDepth: 300 },
        { ...l4, nodeId: 'idle' },
      ],
      picks: 'idle',
    },
    {
      name: 'around a suspect node',
      nodes: [
        { ...h100, nodeId: 'x', liveness: 'suspect' },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around a dead node',
      nodes: [
        { ...h100, nodeId: 'x', liveness: 'dead' },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around a cordoned node',
      nodes: [
        { ...h100, nodeId: 'x', operatorState: 'cordoned' },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around an operator-drained node',
      nodes: [
        { ...h100, nodeId: 'x', operatorState: 'draining' },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around a node draining itself',
      nodes: [
        { ...h100, nodeId: 'x', state: 'draining' },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around an excluded node',
      nodes: [
        { ...h100, nodeId: 'x' },
        { ...l4, nodeId: 'ok' },
      ],
      request: placementRequest(SMALL, { excludeNodeIds: new Set(['x']) }),
      picks: 'ok',
      rejected: { x: 'schedulable' },
    },
    {
      name: 'around a node without HBM for the KV cache',
      nodes: [
        { ...h100, nodeId: 'x', ...fullHbm(640e9) },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'memory-fit' },
    },
    {
      name: 'around a node whose queue is full',
      nodes: [
        { ...h100, nodeId: 'x', queueDepth: 5 * 2048 },
        { ...l4, nodeId: 'ok' },
      ],
      picks: 'ok',
      rejected: { x: 'queue-room' },
    },
    {
      name: 'a node that can load a model over one that cannot run it',
      nodes: [
        { ...l4, nodeId: 'x' },
        { profile: 'h100', nodeId: 'ok' },
      ],
      request: placementRequest('llama-3.3-70b'),
      picks: 'ok',
      rejected: { x: 'model-supported' },
    },
  ];

  it.each(cases)('$name', ({ nodes, request, picks, rejected = {} }) => {
    const decision = placement.place(request ?? placementRequest(SMALL), fleetOf(...nodes), context(1, true));
    expect(pickedId(decision)).toBe(picks);
    for (const [nodeId, filter] of Object.entries(rejected)) {
      expect(decision.explanation?.find((e) => e.nodeId === nodeId)?.rejectedBy).toBe(filter);
    }
  });
});

describe('PlacementFramework with the default config: rejects', () => {
  const cases: {
    name: string;
    nodes: Setup[];
    request?: PlacementRequest;
    code: string;
    rejectedBy: Record<string, number>;
    message: RegExp;
  }[] = [
    {
      name: 'empty fleet',
      nodes: [],
      code: 'NO_CAPACITY',
      rejectedBy: {},
      message: /^no nodes are registered to serve llama-3\.1-8b$/,
    },
    {
      name: 'only node suspect',
      nodes: [{ ...h100, liveness: 'suspect' }],
      code: 'NO_CAPACITY',
      rejectedBy: { schedulable: 1 },
      message: /1 rejected by schedulable/,
    },
    {
      name: 'KV cache larger than any free HBM',
      nodes: [l4, l4],
      request: placementRequest(SMALL, { inputTokens: 700_000, maxOutputTokens: 1000 }),
      code: 'NO_CAPACITY',
      rejectedBy: { 'memory-fit': 2 },
      message: /2 rejected by memory-fit/,
    },
    {
      name: 'queues full',
      nodes: [{ ...l4, queueDepth: 5 * 256 }],
      code: 'NO_CAPACITY',
      rejectedBy: { 'queue-room': 1 },
      message: /1 rejected by queue-room/,
    },
    {
      name: 'a mix of reasons, counted by filter',
      nodes: [
        { ...h100, operatorState: 'cordoned' },
        { ...h100, inFlight: 2048, queueDepth: 4 * 2048 },
        { ...h100, ...fullHbm(640e9) },
        { ...h100, liveness: 'dead' },
      ],
      code: 'NO_CAPACITY',
      rejectedBy: { schedulable: 2, 'queue-room': 1, 'memory-fit': 1 },
      message:
        /^no node can take llama-3\.1-8b now: 2 rejected by schedulable, 1 rejected by queue-room, 1 rejected by memory-fit$/,
    },
    {
      name: '405B on an L4-only fleet',
      nodes: [l4, l4, l4],
      request: placementRequest('llama-3.1-405b'),
      code: 'UNKNOWN_MODEL',
      rejectedBy: { 'model-supported': 3 },
      message: /^no node in the fleet can serve model llama-3\.1-405b \(3 rejected by model-supported\)$/,
    },
    {
      name: '405B when the one node that could run it is cordoned',
      nodes: [l4, { profile: 'h100', operatorState: 'cordoned' }, l4],
      request: placementRequest('llama-3.1-405b'),
      code: 'NO_CAPACITY',
      rejectedBy: { schedulable: 1, 'model-supported': 2 },
      message: /1 rejected by schedulable, 2 rejected by model-supported/,
    },
  ];

  it.each(cases)('$name → $code', ({ nodes, request, code, rejectedBy, message }) => {
    const decision = placement.place(request ?? placementRequest(SMALL), fleetOf(...nodes), context());
    expect(decision).toMatchObject({ ok: false, code, rejectedBy, candidates: nodes.length });
    expect(!decision.ok && decision.rejectedBy).toEqual(rejectedBy);
    expect(!decision.ok && decision.message).toMatch(message);
  });

  it('does not throw when a node reports loaded a model its profile has no figures for', () => {
    // An L4 running a quantised 70B (or a misreporting agent): the wire lets it say so.
    const snapshot = fleetOf(
      { profile: 'l4', nodeId: 'odd', loaded: ['llama-3.3-70b'], hbmUsedBytes: 40e9 },
      { profile: 'h100', nodeId: 'ok', loaded: ['llama-3.3-70b'] },
    );
    let decision: PlacementDecision | undefined;
    expect(() => {
      decision = placement.place(placementRequest('llama-3.3-70b'), snapshot, context());
    }).not.toThrow();
    expect(decision !== undefined && pickedId(decision)).toBe('ok');
  });
});

describe('PlacementFramework tie-breaking', () => {
  const equal = fleetOf(h100, h100, h100, h100);
  const request = placementRequest(SMALL);
  const sequence = (seed: number, length: number): string[] => {
    const rng = createRng(seed);
    return Array.from({ length }, () => pickedId(placement.place(request, equal, { nowMs: 0, rng })));
  };

  it('replays exactly from the same seed and differs with another', () => {
    expect(sequence(42, 40)).toEqual(sequence(42, 40));
    expect(sequence(42, 40)).not.toEqual(sequence(43, 40));
  });

  it('spreads decisions over equal nodes roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (const id of sequence(7, 8_000)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.keys()].toSorted()).toEqual(['n0', 'n1', 'n2', 'n3']);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(1_700);
      expect(count).toBeLessThan(2_300);
    }
  });
});

describe('PlacementFramework explain mode', () => {
  it('records one entry per node: the rejecting filter or the clamped scores, total and estimate', () => {
    const snapshot = fleetOf({ ...h100, operatorState: 'cordoned' }, l4, h100);
    const decision = placement.place(placementRequest(SMALL), snapshot, context(1, true));
    const explanation = decision.explanation ?? [];
    expect(explanation.map((e) => e.nodeId)).toEqual(['n0', 'n1', 'n2']);
    expect(explanation[0]).toEqual({ nodeId: 'n0', rejectedBy: 'schedulable' });
    for (const entry of explanation.slice(1)) {
      expect(entry.rejectedBy).toBeUndefined();
      const scores = entry.scores ?? {};
      expect(Object.keys(scores).toSorted()).toEqual(['batch-headroom', 'predicted-latency']);
      const weighted = (scores['predicted-latency']! * 1 + scores['batch-headroom']! * 0.2) / 1.2;
      expect(entry.total).toBeCloseTo(weighted, 12);
      expect(entry.estimate?.coldStart).toBe(false);
    }
    expect(pickedId(decision)).toBe('n2');
    expect(decision.ok && decision.score).toBe(explanation[2]!.total);
  });

  it('explains rejections too, and records nothing unless asked', () => {
    const snapshot = fleetOf({ ...l4, liveness: 'dead' });
    expect(placement.place(placementRequest(SMALL), snapshot, context(1, true)).explanation).toEqual([
      { nodeId: 'n0', rejectedBy: 'schedulable' },
    ]);
    expect('explanation' in placement.place(placementRequest(SMALL), snapshot, context())).toBe(false);
    expect('explanation' in placement.place(placementRequest(SMALL), fleetOf(l4), context())).toBe(false);
  });
});

const constant = (name: string, value: number): Scorer => ({ name, score: () => value });
/** A registry whose scorers each return a constant (possibly out of range). */
const registryWith = (values: Record<string, number>): PluginRegistry => ({
  ...BUILTIN_PLUGINS,
  scorers: Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, { params: [], create: () => constant(name, value) }]),
  ),
});
/** The default filters and picker with constant scorers of the given weights. */
const build = (values: Record<string, number>, weights: Record<string, number>) =>
  buildPlacement(
    { ...LATENCY_PLACEMENT_CONFIG, scorers: Object.entries(weights).map(([name, weight]) => ({ name, weight })) },
    registryWith(values),
  );

describe('PlacementFramework score handling', () => {
  it.each<[raw: number, clamped: number]>([
    [7, 1],
    [-3, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 1],
    [Number.NEGATIVE_INFINITY, 0],
    [0.25, 0.25],
  ])('clamps a scorer returning %d to %d', (raw, clamped) => {
    const decision = build({ odd: raw }, { odd: 2 }).place(placementRequest(SMALL), fleetOf(l4), context(1, true));
    expect(decision.explanation?.[0]?.scores).toEqual({ odd: clamped });
    expect(decision.ok && decision.score).toBe(clamped);
  });

  it('clamps before weighting, so one wild scorer cannot dominate', () => {
    const decision = build({ seven: 7, negative: -3, nan: Number.NaN }, { seven: 1, negative: 1, nan: 2 }).place(
      placementRequest(SMALL),
      fleetOf(l4),
      context(),
    );
    expect(decision.ok && decision.score).toBeCloseTo(0.25, 12);
  });

  it.each([1, 10, 0.001])('normalises weights by their sum (scale %d)', (scale) => {
    const decision = build({ half: 0.5, one: 1 }, { half: 3 * scale, one: 1 * scale }).place(
      placementRequest(SMALL),
      fleetOf(l4),
      context(),
    );
    expect(decision.ok && decision.score).toBeCloseTo(0.625, 12);
  });

  it('answers NO_CAPACITY when the picker chooses none', () => {
    const registry: PluginRegistry = {
      ...BUILTIN_PLUGINS,
      pickers: {
        none: {
          params: [],
          create: () => ({ name: 'none', begin: () => ({ offer: () => undefined, picked: () => undefined }) }),
        },
      },
    };
    const decision = buildPlacement({ ...LATENCY_PLACEMENT_CONFIG, picker: 'none' }, registry).place(
      placementRequest(SMALL),
      fleetOf(l4),
      context(),
    );
    expect(decision).toMatchObject({
      ok: false,
      code: 'NO_CAPACITY',
      rejectedBy: {},
      message: 'no node can take llama-3.1-8b now: picker chose none',
    });
  });
});

function clusterOf(decision: PlacementDecision): string | undefined {
  return decision.ok ? decision.node.cluster : undefined;
}

describe('PlacementFramework with the default config over an indexed fleet', () => {
  const defaultPlacement = buildPlacement();
  /** Two clusters of identical warm nodes, one round trip apart from region `eu` (both 10 ms). */
  function twoClusters(): FleetView {
    const topology = new Topology({
      clusters: [
        { name: 'a', location: '', powerBudgetWatts: 1e9 },
        { name: 'b', location: '', powerBudgetWatts: 1e9 },
      ],
      regions: [{ name: 'eu', latencyMs: { a: 10, b: 10 } }],
    });
    const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, new PlacementIndex(), topology);
    for (const [i, cluster] of ['a', 'a', 'b', 'b'].entries()) {
      fleet.register(
        registration({ nodeId: `${cluster}${i}`, cluster, profile: 'h100', loaded: [SMALL], inFlight: 40 }),
        0,
      );
    }
    return fleet;
  }
  const request = { ...placementRequest(SMALL), region: 'eu' };

  it('searches the index, and matches the scan as cluster power and latency change between decisions', () => {
    const fleet = twoClusters();
    expect(defaultPlacement.usesIndex).toBe(true);
    const decide = (): string | undefined => {
      const fast = defaultPlacement.place(request, fleet, context());
      const full = defaultPlacement.scan(request, fleet, context());
      expect(fast.ok && full.ok && Math.abs(fast.score - full.score)).toBeLessThanOrEqual(1e-9);
      return clusterOf(fast);
    };
    const picks = new Set(
      Array.from({ length: 40 }, (_, seed) => clusterOf(defaultPlacement.place(request, fleet, context(seed)))),
    );
    expect([...picks].sort((x, y) => (x ?? '').localeCompare(y ?? ''))).toEqual(['a', 'b']);
    // Cluster a nears its budget (steer): the same nodes there now cost twice the energy.
    const a = fleet.topology.cluster('a');
    fleet.topology.setBudget('a', a.committedWatts / 0.9 / (1 - a.safetyMargin));
    expect(a.stage).toBe('steer');
    expect(decide()).toBe('b');
    // b is now far from the client: interactive work still meets its target there but a is back to normal.
    fleet.topology.setBudget('a', 1e9);
    fleet.topology.observeLatency('eu', 'b', 900);
    expect(decide()).toBe('a');
  });

  it('scans in explain mode, recording every node', () => {
    const fleet = twoClusters();
    const decision = defaultPlacement.place(request, fleet, context(1, true));
    expect(decision.explanation?.map((e) => e.nodeId).sort()).toEqual(['a0', 'a1', 'b2', 'b3']);
  });
});
